package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Entry statements.
const (
	// sqlExists tells whether a key is pending.
	sqlExists = `SELECT EXISTS (SELECT 1 FROM outbox WHERE key = ?)`

	// sqlCount counts pending entries.
	sqlCount = `SELECT COUNT(*) FROM outbox`

	// sqlInsert adds an entry.
	sqlInsert = `INSERT INTO outbox (key, kind, payload, created_at) VALUES (?, ?, ?, ?)`

	// sqlPending lists the oldest entries.
	sqlPending = `SELECT seq, key, kind, payload, created_at, attempts, last_attempt_at
FROM outbox ORDER BY seq LIMIT ?`

	// sqlMarkAttempt counts a send attempt.
	sqlMarkAttempt = `UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ? WHERE key = ?`

	// sqlDelete removes an acked entry.
	sqlDelete = `DELETE FROM outbox WHERE key = ?`
)

// Add stores an entry under key unless key is already pending. It returns
// true when the entry was added and false when key was present (the stored
// entry is left as it is). Once Add returns, the entry is on disk.
//
// Add fails with ErrFull when the outbox holds MaxEntries entries; nothing
// is dropped, the caller must keep the message and retry. Keys are only
// remembered while pending: a key added again after its Ack is a new entry,
// and the master's deduplication makes that harmless.
func (o *Outbox) Add(ctx context.Context, key, kind string, payload []byte) (added bool, err error) {
	switch {
	case key == "":
		return false, errors.New("outbox: empty key")
	case kind == "":
		return false, errors.New("outbox: empty kind")
	case len(payload) > o.maxPayloadBytes:
		return false, fmt.Errorf("outbox: key %q: %w: %d bytes, max %d", key, ErrPayloadTooLarge, len(payload), o.maxPayloadBytes)
	}
	if payload == nil {
		// A nil []byte would be stored as NULL.
		payload = []byte{}
	}

	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("outbox: adding %q: beginning: %w", key, err)
	}
	defer func() {
		if !added {
			err = errors.Join(err, ignoreDone(tx.Rollback()))
		}
	}()

	var exists bool
	if err = tx.QueryRowContext(ctx, sqlExists, key).Scan(&exists); err != nil {
		return false, fmt.Errorf("outbox: adding %q: looking up: %w", key, err)
	}
	if exists {
		return false, nil
	}

	var n int
	if err = tx.QueryRowContext(ctx, sqlCount).Scan(&n); err != nil {
		return false, fmt.Errorf("outbox: adding %q: counting: %w", key, err)
	}
	if n >= o.maxEntries {
		o.logger.WarnContext(ctx, "outbox full", "key", key, "depth", n, "max_entries", o.maxEntries)

		return false, fmt.Errorf("outbox: adding %q: %w: %d entries", key, ErrFull, n)
	}

	if _, err = tx.ExecContext(ctx, sqlInsert, key, kind, payload, o.now().UnixMilli()); err != nil {
		return false, fmt.Errorf("outbox: adding %q: inserting: %w", key, err)
	}
	if err = tx.Commit(); err != nil {
		return false, fmt.Errorf("outbox: adding %q: committing: %w", key, err)
	}

	return true, nil
}

// ignoreDone drops the error of rolling back a transaction that already
// ended.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}

	return err
}

// Pending returns up to limit entries, oldest first.
func (o *Outbox) Pending(ctx context.Context, limit int) ([]Entry, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("outbox: pending: limit %d, want > 0", limit)
	}

	rows, err := o.db.QueryContext(ctx, sqlPending, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: pending: %w", err)
	}
	defer func() { _ = rows.Close() }()

	var entries []Entry
	for rows.Next() {
		var e Entry
		var created int64
		var last sql.NullInt64
		if err = rows.Scan(&e.Seq, &e.Key, &e.Kind, &e.Payload, &created, &e.Attempts, &last); err != nil {
			return nil, fmt.Errorf("outbox: pending: scanning: %w", err)
		}
		e.CreatedAt = time.UnixMilli(created)
		if last.Valid {
			e.LastAttemptAt = time.UnixMilli(last.Int64)
		}
		entries = append(entries, e)
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: pending: %w", err)
	}

	return entries, nil
}

// MarkAttempt records that the entry under key was sent once more. An
// unknown key is not an error: the ack may have arrived first.
func (o *Outbox) MarkAttempt(ctx context.Context, key string) error {
	if _, err := o.db.ExecContext(ctx, sqlMarkAttempt, o.now().UnixMilli(), key); err != nil {
		return fmt.Errorf("outbox: marking attempt of %q: %w", key, err)
	}

	return nil
}

// Ack deletes the entry under key. It returns false when there was none
// (acked before, or never added), which is not an error: acks may repeat.
func (o *Outbox) Ack(ctx context.Context, key string) (bool, error) {
	res, err := o.db.ExecContext(ctx, sqlDelete, key)
	if err != nil {
		return false, fmt.Errorf("outbox: acking %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("outbox: acking %q: %w", key, err)
	}

	return n > 0, nil
}

// Depth returns the number of pending entries.
func (o *Outbox) Depth(ctx context.Context) (int, error) {
	var n int
	if err := o.db.QueryRowContext(ctx, sqlCount).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox: counting: %w", err)
	}

	return n, nil
}
