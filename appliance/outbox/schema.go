package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Schema version bookkeeping.
const (
	// sqlCreateSchemaVersion creates the one-row table holding the number
	// of migrations applied.
	sqlCreateSchemaVersion = `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`

	// sqlSelectSchemaVersion reads the schema version.
	sqlSelectSchemaVersion = `SELECT version FROM schema_version`

	// sqlInsertSchemaVersion records version 0 in a new database.
	sqlInsertSchemaVersion = `INSERT INTO schema_version (version) VALUES (0)`

	// sqlUpdateSchemaVersion records a new schema version.
	sqlUpdateSchemaVersion = `UPDATE schema_version SET version = ?`
)

// sqlMigration1 creates the outbox table.
//
// AUTOINCREMENT keeps seq from ever being reused, even for the highest seq
// after it is acked, so "oldest first" holds across acks and restarts.
// Times are Unix milliseconds. STRICT makes SQLite reject wrongly typed
// values instead of storing them.
const sqlMigration1 = `CREATE TABLE outbox (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	key             TEXT    NOT NULL UNIQUE,
	kind            TEXT    NOT NULL,
	payload         BLOB    NOT NULL,
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_attempt_at INTEGER
) STRICT`

// migrations are the schema changes in order; migrations[i] takes the
// schema from version i to i+1. Append only: never edit a released one.
var migrations = []string{
	sqlMigration1,
}

// migrate brings db's schema to the latest version in one transaction.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()

	if _, err = tx.ExecContext(ctx, sqlCreateSchemaVersion); err != nil {
		return fmt.Errorf("creating schema_version: %w", err)
	}

	var version int
	err = tx.QueryRowContext(ctx, sqlSelectSchemaVersion).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err = tx.ExecContext(ctx, sqlInsertSchemaVersion); err != nil {
			return fmt.Errorf("initialising schema_version: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("reading schema_version: %w", err)
	}

	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program's %d", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if _, err = tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	if version < len(migrations) {
		if _, err = tx.ExecContext(ctx, sqlUpdateSchemaVersion, len(migrations)); err != nil {
			return fmt.Errorf("recording schema version: %w", err)
		}
	}

	if err = tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}

	return nil
}
