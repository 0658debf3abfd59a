package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

// WorkerToken is an appliance enrollment token. Only the SHA-256 hash of its
// secret is stored, plus the credentials seal key derived from the secret
// (credseal.DeriveKey), encrypted at rest under the master key.
type WorkerToken struct {
	ID         string
	Name       string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// SQL for worker tokens.
const (
	sqlInsertWorkerToken = `INSERT INTO worker_tokens (id, name, secret_hash, seal_key, created_at)
VALUES (?, ?, ?, ?, ?)`
	sqlWorkerTokenColumns = `id, name, created_at, revoked_at, last_used_at`
	sqlListWorkerTokens   = `SELECT ` + sqlWorkerTokenColumns + ` FROM worker_tokens ORDER BY created_at, rowid`
	sqlWorkerTokenSecret  = `SELECT ` + sqlWorkerTokenColumns + `, secret_hash, seal_key FROM worker_tokens WHERE id = ?`
	sqlRevokeWorkerToken  = `UPDATE worker_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`
	sqlTouchWorkerToken   = `UPDATE worker_tokens SET last_used_at = ? WHERE id = ?`
)

// sealKeyAAD binds a stored seal key to its token id.
func sealKeyAAD(tokenID string) string { return "worker-token:" + tokenID }

// CreateWorkerToken creates an enrollment token and returns it with its
// secret. The secret is shown once: the store keeps only its hash.
func (s *Store) CreateWorkerToken(ctx context.Context, name string) (WorkerToken, string, error) {
	t := WorkerToken{ID: newID(prefixWorkerToken, idBytes), Name: name, CreatedAt: fromDB(s.nowDB())}
	secret := auth.NewWorkerSecret(t.ID)

	sealedKey, err := credseal.Seal(s.key, credseal.DeriveKey(secret), sealKeyAAD(t.ID))
	if err != nil {
		return WorkerToken{}, "", fmt.Errorf("sealing seal key: %w", err)
	}

	_, err = s.wdb.ExecContext(ctx, sqlInsertWorkerToken, t.ID, name, auth.HashSecret(secret), sealedKey, toDB(t.CreatedAt))
	if err != nil {
		return WorkerToken{}, "", fmt.Errorf("inserting worker token: %w", err)
	}

	return t, secret, nil
}

// scanWorkerToken reads sqlWorkerTokenColumns, then extra destinations.
func scanWorkerToken(sc scanner, extra ...any) (WorkerToken, error) {
	var (
		t             WorkerToken
		created       int64
		revoked, used sql.NullInt64
	)
	err := sc.Scan(append([]any{&t.ID, &t.Name, &created, &revoked, &used}, extra...)...)
	t.CreatedAt, t.RevokedAt, t.LastUsedAt = fromDB(created), fromDBPtr(revoked), fromDBPtr(used)

	return t, err
}

// ListWorkerTokens returns every token (including revoked ones), oldest
// first.
func (s *Store) ListWorkerTokens(ctx context.Context) ([]WorkerToken, error) {
	rows, err := s.rdb.QueryContext(ctx, sqlListWorkerTokens)
	if err != nil {
		return nil, fmt.Errorf("listing worker tokens: %w", err)
	}
	defer func() { _ = rows.Close() }()

	var tokens []WorkerToken
	for rows.Next() {
		t, err := scanWorkerToken(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning worker token: %w", err)
		}
		tokens = append(tokens, t)
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("listing worker tokens: %w", err)
	}

	return tokens, nil
}

// RevokeWorkerToken revokes the token; revoking twice keeps the first
// revocation time. It returns ErrNotFound for an unknown id. Disconnecting
// workers that use the token is the caller's job.
func (s *Store) RevokeWorkerToken(ctx context.Context, id string) error {
	res, err := s.wdb.ExecContext(ctx, sqlRevokeWorkerToken, s.nowDB(), id)
	if err != nil {
		return fmt.Errorf("revoking worker token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("worker token %q: %w", id, ErrNotFound)
	}

	return nil
}

// VerifyWorkerToken checks an enrollment secret and returns its token and
// the credentials seal key for that appliance. Unknown, revoked or malformed
// secrets give ErrUnauthorized. On success it records LastUsedAt.
func (s *Store) VerifyWorkerToken(ctx context.Context, secret string) (WorkerToken, []byte, error) {
	id, err := auth.ParseWorkerSecret(secret)
	if err != nil {
		return WorkerToken{}, nil, fmt.Errorf("malformed secret: %w", ErrUnauthorized)
	}

	var (
		hash      []byte
		sealedKey string
	)
	t, err := scanWorkerToken(s.rdb.QueryRowContext(ctx, sqlWorkerTokenSecret, id), &hash, &sealedKey)
	if errors.Is(err, sql.ErrNoRows) {
		return WorkerToken{}, nil, fmt.Errorf("unknown token: %w", ErrUnauthorized)
	}
	if err != nil {
		return WorkerToken{}, nil, fmt.Errorf("reading worker token: %w", err)
	}

	if !auth.EqualHash(auth.HashSecret(secret), hash) {
		return WorkerToken{}, nil, fmt.Errorf("wrong secret: %w", ErrUnauthorized)
	}
	if t.RevokedAt != nil {
		return WorkerToken{}, nil, fmt.Errorf("revoked token: %w", ErrUnauthorized)
	}

	key, err := credseal.Open(s.key, sealedKey, sealKeyAAD(t.ID))
	if err != nil {
		return WorkerToken{}, nil, fmt.Errorf("opening seal key (wrong master key?): %w", err)
	}

	now := s.nowDB()
	if _, err = s.wdb.ExecContext(ctx, sqlTouchWorkerToken, now, t.ID); err != nil {
		return WorkerToken{}, nil, fmt.Errorf("recording token use: %w", err)
	}
	used := fromDB(now)
	t.LastUsedAt = &used

	return t, key, nil
}
