// Package store is the master's persistent state: users, worker enrollment
// tokens, workers, monitored accounts (with their credentials encrypted at
// rest), detected messages, notifications with per-user read state, and
// client devices. It keeps everything in one SQLite file (modernc.org/sqlite,
// pure Go).
//
// Every commit is durable (WAL with synchronous=FULL): the master acknowledges
// a detected message to the worker only after IngestMessage returns, and the
// worker then deletes it from its outbox, so a commit that could be lost on
// power failure would lose a message.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/protocol/credseal"

	// The import also registers the "sqlite" database/sql driver.
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Default values for Config fields and connection settings.
const (
	// DefaultBusyTimeout is how long a connection waits for a lock held by
	// another connection (or another process) before failing with
	// SQLITE_BUSY.
	DefaultBusyTimeout = 5 * time.Second

	// DefaultReadConns is the size of the read connection pool. WAL lets
	// readers run concurrently with the single writer.
	DefaultReadConns = 4

	// pruneBatch bounds the rows deleted per transaction by Prune so that a
	// large prune never holds the write lock for long.
	pruneBatch = 500
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrNotFound means the requested row does not exist or is not visible
	// to the viewer.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict means a uniqueness rule was violated (duplicate username,
	// duplicate platform account).
	ErrConflict = errors.New("store: conflict")

	// ErrUnauthorized means a secret did not verify (unknown, revoked or
	// malformed worker token).
	ErrUnauthorized = errors.New("store: unauthorized")

	// ErrInvalid means an argument is out of range (unknown status, empty
	// required field).
	ErrInvalid = errors.New("store: invalid argument")
)

// Config configures Open.
type Config struct {
	// Path is the SQLite database file. It is created if missing. Must not
	// be empty and must not contain '?'.
	Path string

	// Key is the 32-byte master key (from the master's key file) under which
	// credentials and credential seal keys are encrypted at rest. Required.
	Key []byte

	// Logger receives operational logs. Secrets are never logged. Nil means
	// slog.Default().
	Logger *slog.Logger

	// Now is the clock used for every timestamp the store assigns. Nil means
	// time.Now.
	Now func() time.Time

	// BusyTimeout overrides DefaultBusyTimeout when positive.
	BusyTimeout time.Duration
}

// Store is the master's SQLite store. It is safe for concurrent use.
type Store struct {
	// wdb is the write pool: exactly one connection, so writers queue in Go
	// rather than fighting over the SQLite lock (which surfaces as
	// SQLITE_BUSY when a deferred transaction upgrades to a write lock).
	wdb *sql.DB

	// rdb is the read pool, opened query-only.
	rdb *sql.DB

	key    []byte
	logger *slog.Logger
	now    func() time.Time
}

// Open opens (creating if needed) the database at cfg.Path, applies pending
// migrations and returns a ready Store.
func Open(ctx context.Context, cfg *Config) (*Store, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: nil config", ErrInvalid)
	}
	if cfg.Path == "" || strings.ContainsRune(cfg.Path, '?') {
		return nil, fmt.Errorf("%w: path must be non-empty and contain no '?'", ErrInvalid)
	}
	if len(cfg.Key) != credseal.KeySize {
		return nil, fmt.Errorf("%w: key must be %d bytes", ErrInvalid, credseal.KeySize)
	}

	s := &Store{
		key:    append([]byte(nil), cfg.Key...),
		logger: cfg.Logger,
		now:    cfg.Now,
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.logger = s.logger.With("component", "store")
	if s.now == nil {
		s.now = time.Now
	}

	busy := DefaultBusyTimeout
	if cfg.BusyTimeout > 0 {
		busy = cfg.BusyTimeout
	}

	// synchronous=FULL: in WAL mode NORMAL may lose the last commits on power
	// loss, which would break "acked means stored". _txlock=immediate takes
	// the write lock at BEGIN so a transaction never fails half way when it
	// upgrades from read to write.
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)",
		busy.Milliseconds())

	var err error
	s.wdb, err = sql.Open("sqlite", cfg.Path+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening write pool: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)

	if err = s.wdb.PingContext(ctx); err != nil {
		_ = s.wdb.Close()

		return nil, fmt.Errorf("opening %s: %w", cfg.Path, err)
	}

	if err = s.migrate(ctx); err != nil {
		_ = s.wdb.Close()

		return nil, fmt.Errorf("migrating: %w", err)
	}

	// The read pool is opened after the write pool switched the file to WAL,
	// so readers never see a rollback journal.
	s.rdb, err = sql.Open("sqlite", cfg.Path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		_ = s.wdb.Close()

		return nil, fmt.Errorf("opening read pool: %w", err)
	}
	s.rdb.SetMaxOpenConns(DefaultReadConns)
	s.rdb.SetMaxIdleConns(DefaultReadConns)

	if err = s.rdb.PingContext(ctx); err != nil {
		_ = s.Close()

		return nil, fmt.Errorf("opening read pool: %w", err)
	}

	return s, nil
}

// Close closes both connection pools. The WAL is checkpointed by SQLite when
// the last connection closes.
func (s *Store) Close() error {
	var errs []error
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}

	return errors.Join(errs...)
}

// Checkpoint runs a full WAL checkpoint, folding the log into the main file.
func (s *Store) Checkpoint(ctx context.Context) error {
	if _, err := s.wdb.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpointing: %w", err)
	}

	return nil
}

// newID returns prefix + "-" + n random bytes in hex.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(b)

	return prefix + "-" + hex.EncodeToString(b)
}

// Id prefixes and random lengths (bytes).
const (
	prefixAccount      = "acc"
	prefixNotification = "ntf"
	prefixMessage      = "msg"
	prefixUser         = "usr"
	prefixWorkerToken  = "wtk"

	// accountIDBytes gives "acc-<12 hex>".
	accountIDBytes = 6
	// idBytes is used for every other id.
	idBytes = 8
)

// Timestamps are stored as INTEGER Unix nanoseconds (UTC); 0 and NULL mean
// "not set". toDB and fromDB convert.

// toDB converts t to the stored form.
func toDB(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}

	return t.UnixNano()
}

// fromDB converts the stored form to a UTC time; 0 gives the zero time.
func fromDB(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}

	return time.Unix(0, v).UTC()
}

// toDBPtr converts an optional time to a nullable column value.
func toDBPtr(t *time.Time) sql.NullInt64 {
	if t == nil || t.IsZero() {
		return sql.NullInt64{}
	}

	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// fromDBPtr converts a nullable column value to an optional time.
func fromDBPtr(v sql.NullInt64) *time.Time {
	if !v.Valid || v.Int64 == 0 {
		return nil
	}
	t := time.Unix(0, v.Int64).UTC()

	return &t
}

// nowDB returns the current time from the configured clock in stored form.
func (s *Store) nowDB() int64 {
	return s.now().UnixNano()
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it; fn's
// error rolls back.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()

	if err = fn(tx); err != nil {
		return err
	}

	if err = tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}

	return nil
}

// sqliteCode returns the extended SQLite result code carried by err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}

	return 0
}

// isUniqueViolation reports whether err is a SQLite UNIQUE or PRIMARY KEY
// constraint failure.
func isUniqueViolation(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	default:
		return false
	}
}

// isForeignKeyViolation reports whether err is a SQLite FOREIGN KEY failure.
func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
