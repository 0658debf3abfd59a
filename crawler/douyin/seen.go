package douyin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Kinds of seen items.
const (
	kindComment = "comment"
	kindDM      = "dm"
)

// seenStore remembers which items were handed to the sink, per account, in
// a small SQLite file, so restarts, reassignments and page reloads never
// report an item twice.
type seenStore struct {
	db *sql.DB
}

// seenSchema creates the table; rows are pruned by age.
const seenSchema = `CREATE TABLE IF NOT EXISTS seen (
	account_id TEXT NOT NULL,
	kind       TEXT NOT NULL,
	item_id    TEXT NOT NULL,
	seen_at    INTEGER NOT NULL,
	PRIMARY KEY (account_id, kind, item_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_at ON seen (seen_at);`

// openSeen opens or creates the store at path.
func openSeen(ctx context.Context, path string) (*seenStore, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening seen store: %w", err)
	}
	// One connection: writes are rare and tiny, and SQLite serialises them
	// anyway.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, seenSchema); err != nil {
		return nil, errors.Join(fmt.Errorf("creating seen store: %w", err), db.Close())
	}
	return &seenStore{db: db}, nil
}

// Close closes the store.
func (s *seenStore) Close() error { return s.db.Close() }

// filterUnseen returns the ids of ids not yet recorded for the account.
func (s *seenStore) filterUnseen(ctx context.Context, account, kind string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(ids)+2)
	args = append(args, account, kind)
	for _, id := range ids {
		args = append(args, id)
	}
	q := `SELECT item_id FROM seen WHERE account_id = ? AND kind = ? AND item_id IN (?` +
		strings.Repeat(",?", len(ids)-1) + `)`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading seen items: %w", err)
	}
	defer rows.Close()
	known := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("reading seen items: %w", err)
		}
		known[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading seen items: %w", err)
	}
	var out []string
	for _, id := range ids {
		if !known[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// add records ids for the account in one transaction.
func (s *seenStore) add(ctx context.Context, account, kind string, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recording seen items: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx,
			`INSERT OR IGNORE INTO seen (account_id, kind, item_id, seen_at) VALUES (?, ?, ?, ?)`,
			account, kind, id, at.Unix()); err != nil {
			return fmt.Errorf("recording seen items: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recording seen items: %w", err)
	}
	return nil
}

// prune forgets items recorded before cutoff; the notice feed and the IM
// store never show items that old again, so the file stays small.
func (s *seenStore) prune(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM seen WHERE seen_at < ?`, cutoff.Unix())
	if err != nil {
		return 0, fmt.Errorf("pruning seen items: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
