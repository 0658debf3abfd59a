// Package outbox is the appliance's durable outbox: every detected message
// is written here before it is sent and deleted only when the master acks
// it, so nothing is lost across reconnects, crashes and reboots.
//
// Entries are opaque (a key, a kind and a payload), so the outbox does not
// depend on the protocol package.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	// The pure-Go SQLite driver, registered as "sqlite": ARM builds need no
	// C cross-compiler.
	_ "modernc.org/sqlite"
)

// Defaults for Config.
const (
	// DefaultMaxEntries bounds the outbox. At a few hundred bytes per
	// detected message it is a few megabytes of SD card, and days of
	// messages for a handful of accounts while the master is away.
	DefaultMaxEntries = 10_000

	// DefaultMaxPayloadBytes bounds one entry. A detected message is one
	// comment or direct message, never a snapshot.
	DefaultMaxPayloadBytes = 64 << 10

	// DefaultBusyTimeout is how long a statement waits for a lock held by
	// another connection (another process inspecting the file) before
	// failing.
	DefaultBusyTimeout = 5 * time.Second
)

// driverName is the database/sql name of the modernc.org/sqlite driver.
const driverName = "sqlite"

// Errors.
var (
	// ErrFull is returned by Add when the outbox holds MaxEntries entries.
	// Nothing is dropped: the caller keeps the message and retries later.
	ErrFull = errors.New("outbox full")

	// ErrPayloadTooLarge is returned by Add for a payload over
	// MaxPayloadBytes.
	ErrPayloadTooLarge = errors.New("outbox payload too large")
)

// Config configures an Outbox.
type Config struct {
	// Logger receives the outbox's messages. Nil means slog.Default().
	Logger *slog.Logger

	// Now returns the current time for CreatedAt and LastAttemptAt. Nil
	// means time.Now.
	Now func() time.Time

	// Path is the SQLite database file. Required. Its directory is created
	// when missing; the file is created with mode 0600.
	Path string

	// MaxEntries is the most entries the outbox holds; Add fails with
	// ErrFull beyond it. Zero means DefaultMaxEntries.
	MaxEntries int

	// MaxPayloadBytes is the largest payload Add accepts. Zero means
	// DefaultMaxPayloadBytes.
	MaxPayloadBytes int

	// BusyTimeout is SQLite's busy_timeout. Zero means DefaultBusyTimeout.
	BusyTimeout time.Duration
}

// Entry is one message waiting for its ack.
type Entry struct {
	// CreatedAt is when the entry was added.
	CreatedAt time.Time

	// LastAttemptAt is when it was last sent; zero before the first send.
	LastAttemptAt time.Time

	// Key identifies the entry (the detected message's id).
	Key string

	// Kind tells the sender what the payload is.
	Kind string

	// Payload is the message, opaque to the outbox.
	Payload []byte

	// Seq orders entries: a later Add has a higher Seq. Seqs are never
	// reused.
	Seq int64

	// Attempts counts MarkAttempt calls.
	Attempts int
}

// Outbox is a durable queue of entries keyed by message id. Its methods are
// safe for concurrent use.
type Outbox struct {
	logger          *slog.Logger
	now             func() time.Time
	db              *sql.DB
	maxEntries      int
	maxPayloadBytes int
}

// Open opens (creating or migrating) the outbox at cfg.Path.
func Open(ctx context.Context, cfg *Config) (*Outbox, error) {
	if err := validate(cfg); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}

	o := &Outbox{
		logger:          cfg.Logger,
		now:             cfg.Now,
		maxEntries:      orDefault(cfg.MaxEntries, DefaultMaxEntries),
		maxPayloadBytes: orDefault(cfg.MaxPayloadBytes, DefaultMaxPayloadBytes),
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	o.logger = o.logger.With("component", "outbox")
	if o.now == nil {
		o.now = time.Now
	}

	if err := createFile(cfg.Path); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}

	db, err := sql.Open(driverName, dsn(cfg.Path, orDefault(cfg.BusyTimeout, DefaultBusyTimeout)))
	if err != nil {
		return nil, fmt.Errorf("outbox: opening %s: %w", cfg.Path, err)
	}
	// One connection: writes are serialised by SQLite anyway, and a single
	// connection makes the count-then-insert of Add atomic without lock
	// upgrades failing with SQLITE_BUSY between our own connections.
	db.SetMaxOpenConns(1)
	o.db = db

	if err = o.checkPragmas(ctx); err != nil {
		_ = db.Close()

		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err = migrate(ctx, db); err != nil {
		_ = db.Close()

		return nil, fmt.Errorf("outbox: migrating %s: %w", cfg.Path, err)
	}

	depth, err := o.Depth(ctx)
	if err != nil {
		_ = db.Close()

		return nil, fmt.Errorf("outbox: %w", err)
	}
	o.logger.InfoContext(ctx, "outbox opened", "path", cfg.Path, "depth", depth, "max_entries", o.maxEntries)

	return o, nil
}

// validate checks cfg.
func validate(cfg *Config) error {
	switch {
	case cfg == nil:
		return errors.New("nil config")
	case cfg.Path == "":
		return errors.New("empty path")
	case strings.ContainsAny(cfg.Path, "?#"):
		// The driver reads options after "?" in the name.
		return fmt.Errorf("path %q: \"?\" and \"#\" are not allowed", cfg.Path)
	case cfg.MaxEntries < 0:
		return fmt.Errorf("negative max entries %d", cfg.MaxEntries)
	case cfg.MaxPayloadBytes < 0:
		return fmt.Errorf("negative max payload bytes %d", cfg.MaxPayloadBytes)
	case cfg.BusyTimeout < 0:
		return fmt.Errorf("negative busy timeout %s", cfg.BusyTimeout)
	default:
		return nil
	}
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}

	return v
}

// createFile creates the database file with mode 0600 (SQLite gives its
// -wal and -shm files the same mode) and its directory when missing.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("creating directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("creating database file: %w", err)
	}

	return f.Close()
}

// dsn returns the driver's data source name for path.
//
// WAL lets the sender read while the monitors add, and synchronous=FULL makes
// every commit wait for the WAL to reach the disk: an entry Add returned for
// survives a power cut, which NORMAL (the usual WAL setting) does not
// promise. Messages are rare, so the fsync per Add costs nothing that
// matters. Immediate transactions take the write lock at BEGIN, so Add's
// check and insert never race another writer.
func dsn(path string, busy time.Duration) string {
	return path +
		"?_busy_timeout=" + strconv.FormatInt(busy.Milliseconds(), 10) +
		"&_journal_mode=WAL" +
		"&_synchronous=FULL" +
		"&_txlock=immediate"
}

// Pragma queries.
const (
	// sqlJournalMode reads the journal mode.
	sqlJournalMode = `PRAGMA journal_mode`

	// sqlSynchronous reads the synchronous setting (2 is FULL).
	sqlSynchronous = `PRAGMA synchronous`
)

// synchronousFull is PRAGMA synchronous's value for FULL.
const synchronousFull = 2

// checkPragmas verifies the durability settings took effect: a file system
// that cannot do WAL (some network mounts) silently stays in another mode.
func (o *Outbox) checkPragmas(ctx context.Context) error {
	var mode string
	if err := o.db.QueryRowContext(ctx, sqlJournalMode).Scan(&mode); err != nil {
		return fmt.Errorf("reading journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}

	var sync int
	if err := o.db.QueryRowContext(ctx, sqlSynchronous).Scan(&sync); err != nil {
		return fmt.Errorf("reading synchronous: %w", err)
	}
	if sync != synchronousFull {
		return fmt.Errorf("synchronous is %d, want %d (full)", sync, synchronousFull)
	}

	return nil
}

// Close closes the database. The outbox must not be used afterwards.
func (o *Outbox) Close() error {
	if err := o.db.Close(); err != nil {
		return fmt.Errorf("outbox: closing: %w", err)
	}

	return nil
}
