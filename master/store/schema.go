package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Timestamps are INTEGER Unix nanoseconds (see toDB). Ids are TEXT with a
// type prefix. Child rows cascade from accounts so DeleteAccount removes an
// account's messages, notifications and read marks in one statement.

// migration1 creates the initial schema.
const migration1 = `
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	admin         INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
);

CREATE TABLE worker_tokens (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	secret_hash   BLOB NOT NULL,
	seal_key      TEXT NOT NULL, -- credseal.DeriveKey(secret), sealed under the master key
	created_at    INTEGER NOT NULL,
	revoked_at    INTEGER,
	last_used_at  INTEGER
);

CREATE TABLE workers (
	id                TEXT PRIMARY KEY,
	token_id          TEXT NOT NULL DEFAULT '',
	host              TEXT NOT NULL DEFAULT '',
	port              INTEGER NOT NULL DEFAULT 0,
	version           TEXT NOT NULL DEFAULT '',
	capabilities      TEXT NOT NULL DEFAULT '[]', -- JSON array of platform names
	max_accounts      INTEGER NOT NULL DEFAULT 0,
	status            TEXT NOT NULL DEFAULT 'offline',
	connected_at      INTEGER NOT NULL DEFAULT 0,
	last_seen_at      INTEGER NOT NULL DEFAULT 0,
	last_heartbeat_at INTEGER NOT NULL DEFAULT 0,
	active_tasks      INTEGER NOT NULL DEFAULT 0,
	memory_usage      REAL NOT NULL DEFAULT 0,
	cpu_usage         REAL NOT NULL DEFAULT 0,
	extra             TEXT -- optional heartbeat fields, JSON object
);

CREATE TABLE accounts (
	id                     TEXT PRIMARY KEY,
	owner_id               TEXT REFERENCES users(id), -- NULL: only admins see it
	platform               TEXT NOT NULL,
	platform_account_id    TEXT NOT NULL,
	name                   TEXT NOT NULL DEFAULT '',
	monitor_interval       INTEGER NOT NULL,
	status                 TEXT NOT NULL,
	error_message          TEXT NOT NULL DEFAULT '',
	worker_id              TEXT NOT NULL DEFAULT '', -- '' means unassigned
	network_errors         INTEGER NOT NULL DEFAULT 0,
	credentials            TEXT, -- credseal under the master key, aad = id
	credentials_updated_at INTEGER,
	credentials_expires_at INTEGER,
	created_at             INTEGER NOT NULL,
	updated_at             INTEGER NOT NULL,
	UNIQUE (platform, platform_account_id)
);
CREATE INDEX accounts_owner ON accounts (owner_id);
CREATE INDEX accounts_worker ON accounts (worker_id);

CREATE TABLE messages (
	id                TEXT PRIMARY KEY,
	account_id        TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	message_type      TEXT NOT NULL,
	platform_id       TEXT NOT NULL,
	worker_message_id TEXT NOT NULL DEFAULT '',
	content           TEXT NOT NULL DEFAULT '',
	author_name       TEXT NOT NULL DEFAULT '',
	author_id         TEXT NOT NULL DEFAULT '',
	post_id           TEXT NOT NULL DEFAULT '',
	post_title        TEXT NOT NULL DEFAULT '',
	conversation_id   TEXT NOT NULL DEFAULT '',
	created_at        INTEGER NOT NULL DEFAULT 0, -- platform time
	ingested_at       INTEGER NOT NULL,
	raw               TEXT,
	UNIQUE (account_id, message_type, platform_id)
);
CREATE INDEX messages_ingested ON messages (ingested_at);

-- AUTOINCREMENT: seq is a client sync cursor and must never be reused, even
-- after the newest rows are pruned or deleted.
CREATE TABLE notifications (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	message_id   TEXT REFERENCES messages(id) ON DELETE CASCADE,
	account_name TEXT NOT NULL DEFAULT '',
	type         TEXT NOT NULL,
	title        TEXT NOT NULL DEFAULT '',
	content      TEXT NOT NULL DEFAULT '',
	related_id   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL
);
CREATE INDEX notifications_account_seq ON notifications (account_id, seq);
CREATE INDEX notifications_message ON notifications (message_id);
CREATE INDEX notifications_created ON notifications (created_at);

CREATE TABLE notification_reads (
	notification_id TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
	user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	read_at         INTEGER NOT NULL,
	PRIMARY KEY (notification_id, user_id)
) WITHOUT ROWID;
CREATE INDEX notification_reads_user ON notification_reads (user_id);

CREATE TABLE devices (
	user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	device_id    TEXT NOT NULL,
	device_type  TEXT NOT NULL DEFAULT '',
	device_name  TEXT NOT NULL DEFAULT '',
	last_seen_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;
`

// migrations lists the schema migrations in order; migrations[i] brings the
// schema from version i to i+1. Append only: never edit a released entry.
var migrations = []string{
	migration1,
}

// SQL for the schema_version bookkeeping.
const (
	sqlCreateSchemaVersion = `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`
	sqlGetSchemaVersion    = `SELECT version FROM schema_version`
	sqlInitSchemaVersion   = `INSERT INTO schema_version (version) VALUES (0)`
	sqlSetSchemaVersion    = `UPDATE schema_version SET version = ?`
)

// migrate brings the schema up to len(migrations), one transaction per
// migration so a crash leaves the database at a well-defined version.
func (s *Store) migrate(ctx context.Context) error {
	var version int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlCreateSchemaVersion); err != nil {
			return fmt.Errorf("creating schema_version: %w", err)
		}

		err := tx.QueryRowContext(ctx, sqlGetSchemaVersion).Scan(&version)
		if err == sql.ErrNoRows {
			_, err = tx.ExecContext(ctx, sqlInitSchemaVersion)
		}
		if err != nil {
			return fmt.Errorf("reading schema_version: %w", err)
		}

		return nil
	})
	if err != nil {
		return err
	}

	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary (%d)", version, len(migrations))
	}

	for i := version; i < len(migrations); i++ {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("applying migration %d: %w", i+1, err)
			}
			if _, err := tx.ExecContext(ctx, sqlSetSchemaVersion, i+1); err != nil {
				return fmt.Errorf("recording migration %d: %w", i+1, err)
			}

			return nil
		})
		if err != nil {
			return err
		}

		s.logger.InfoContext(ctx, "applied migration", "version", i+1)
	}

	return nil
}
