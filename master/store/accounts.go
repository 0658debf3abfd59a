package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/protocol/credseal"
)

// Account statuses.
const (
	AccountActive      = "active"
	AccountPaused      = "paused"
	AccountError       = "error"
	AccountRateLimited = "rate_limited"
)

// DefaultMonitorInterval is the poll interval (seconds) of an account
// created without one, from the contract's examples.
const DefaultMonitorInterval = 30

// Account is a monitored platform account.
type Account struct {
	ID                   string
	OwnerID              string // user who owns it; "" means only admins see it
	Platform             string // e.g. "douyin"
	PlatformAccountID    string // the platform's id of the account (contract: account_id)
	Name                 string
	MonitorInterval      int    // seconds
	Status               string // AccountActive, AccountPaused, AccountError or AccountRateLimited
	ErrorMessage         string
	WorkerID             string // "" means unassigned
	NetworkErrors        int
	HasCredentials       bool
	CredentialsUpdatedAt *time.Time
	CredentialsExpiresAt *time.Time
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// AccountPatch lists the fields UpdateAccount changes; nil leaves a field as
// it is. OwnerID set to "" removes the owner.
type AccountPatch struct {
	Status          *string
	MonitorInterval *int
	Name            *string
	OwnerID         *string
}

// SQL for accounts.
const (
	sqlAccountColumns = `id, owner_id, platform, platform_account_id, name, monitor_interval, status,
	error_message, worker_id, network_errors, credentials IS NOT NULL, credentials_updated_at,
	credentials_expires_at, created_at, updated_at`
	sqlInsertAccount = `INSERT INTO accounts (id, owner_id, platform, platform_account_id, name, monitor_interval,
	status, error_message, worker_id, credentials, credentials_updated_at, credentials_expires_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlGetAccount         = `SELECT ` + sqlAccountColumns + ` FROM accounts WHERE id = ?`
	sqlListAllAccounts    = `SELECT ` + sqlAccountColumns + ` FROM accounts ORDER BY created_at, rowid`
	sqlListOwnedAccounts  = `SELECT ` + sqlAccountColumns + ` FROM accounts WHERE owner_id = ? ORDER BY created_at, rowid`
	sqlAccountsOfWorker   = `SELECT ` + sqlAccountColumns + ` FROM accounts WHERE worker_id = ? ORDER BY created_at, rowid`
	sqlAssignableAccounts = `SELECT ` + sqlAccountColumns + ` FROM accounts
WHERE worker_id = '' AND status IN ('active', 'rate_limited') AND platform IN (%s)
ORDER BY created_at, rowid`
	sqlUpdateAccount = `UPDATE accounts SET
	status = coalesce(?1, status),
	error_message = CASE WHEN ?1 IS NOT NULL AND ?1 <> 'error' THEN '' ELSE error_message END,
	monitor_interval = coalesce(?2, monitor_interval),
	name = coalesce(?3, name),
	owner_id = CASE WHEN ?4 THEN ?5 ELSE owner_id END,
	updated_at = ?6
WHERE id = ?7`
	sqlDeleteAccount         = `DELETE FROM accounts WHERE id = ?`
	sqlAccountCredentials    = `SELECT credentials FROM accounts WHERE id = ?`
	sqlSetAccountCredentials = `UPDATE accounts SET credentials = ?, credentials_updated_at = ?,
	credentials_expires_at = ?, updated_at = ? WHERE id = ?`
	sqlSetAccountWorker       = `UPDATE accounts SET worker_id = ?, updated_at = ? WHERE id = ?`
	sqlSetAccountStatus       = `UPDATE accounts SET status = ?, error_message = ?, updated_at = ? WHERE id = ?`
	sqlIncrementNetworkErrors = `UPDATE accounts SET network_errors = network_errors + 1 WHERE id = ? RETURNING network_errors`
	sqlResetNetworkErrors     = `UPDATE accounts SET network_errors = 0 WHERE id = ?`
)

// validAccountStatus reports whether st is a known account status.
func validAccountStatus(st string) bool {
	switch st {
	case AccountActive, AccountPaused, AccountError, AccountRateLimited:
		return true
	default:
		return false
	}
}

// nullString stores "" as NULL.
func nullString(v string) sql.NullString {
	return sql.NullString{String: v, Valid: v != ""}
}

// sealCredentials encrypts credentials at rest, bound to the account id.
func (s *Store) sealCredentials(accountID string, creds []byte) (sql.NullString, error) {
	if len(creds) == 0 {
		return sql.NullString{}, nil
	}

	sealed, err := credseal.Seal(s.key, creds, accountID)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("sealing credentials: %w", err)
	}

	return sql.NullString{String: sealed, Valid: true}, nil
}

// CreateAccount adds an account with optional credentials (nil for none)
// and returns it with its assigned id. Empty Status means AccountActive,
// zero MonitorInterval means DefaultMonitorInterval. It returns ErrConflict
// if (Platform, PlatformAccountID) exists and ErrNotFound if OwnerID names
// no user.
func (s *Store) CreateAccount(ctx context.Context, a Account, credentials []byte) (Account, error) {
	if a.Platform == "" || a.PlatformAccountID == "" {
		return Account{}, fmt.Errorf("%w: platform and platform account id are required", ErrInvalid)
	}
	if a.Status == "" {
		a.Status = AccountActive
	}
	if !validAccountStatus(a.Status) {
		return Account{}, fmt.Errorf("%w: account status %q", ErrInvalid, a.Status)
	}
	if a.MonitorInterval == 0 {
		a.MonitorInterval = DefaultMonitorInterval
	}
	if a.MonitorInterval < 0 {
		return Account{}, fmt.Errorf("%w: negative monitor interval", ErrInvalid)
	}

	now := fromDB(s.nowDB())
	a.ID = newID(prefixAccount, accountIDBytes)
	a.CreatedAt, a.UpdatedAt = now, now
	a.NetworkErrors = 0
	a.HasCredentials = len(credentials) > 0
	a.CredentialsUpdatedAt = nil
	if a.HasCredentials {
		a.CredentialsUpdatedAt = &now
	} else {
		a.CredentialsExpiresAt = nil
	}

	sealed, err := s.sealCredentials(a.ID, credentials)
	if err != nil {
		return Account{}, err
	}

	_, err = s.wdb.ExecContext(ctx, sqlInsertAccount, a.ID, nullString(a.OwnerID), a.Platform, a.PlatformAccountID,
		a.Name, a.MonitorInterval, a.Status, a.ErrorMessage, a.WorkerID, sealed, toDBPtr(a.CredentialsUpdatedAt),
		toDBPtr(a.CredentialsExpiresAt), toDB(now), toDB(now))
	switch {
	case isUniqueViolation(err):
		return Account{}, fmt.Errorf("account %s/%s: %w", a.Platform, a.PlatformAccountID, ErrConflict)
	case isForeignKeyViolation(err):
		return Account{}, fmt.Errorf("owner %q: %w", a.OwnerID, ErrNotFound)
	case err != nil:
		return Account{}, fmt.Errorf("inserting account: %w", err)
	}

	return a, nil
}

// scanAccount reads sqlAccountColumns.
func scanAccount(sc scanner) (Account, error) {
	var (
		a                Account
		owner            sql.NullString
		credUpd, credExp sql.NullInt64
		created, updated int64
	)
	err := sc.Scan(&a.ID, &owner, &a.Platform, &a.PlatformAccountID, &a.Name, &a.MonitorInterval, &a.Status,
		&a.ErrorMessage, &a.WorkerID, &a.NetworkErrors, &a.HasCredentials, &credUpd, &credExp, &created, &updated)
	a.OwnerID = owner.String
	a.CredentialsUpdatedAt, a.CredentialsExpiresAt = fromDBPtr(credUpd), fromDBPtr(credExp)
	a.CreatedAt, a.UpdatedAt = fromDB(created), fromDB(updated)

	return a, err
}

// queryAccounts runs a query returning sqlAccountColumns rows.
func queryAccounts(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, query string, args ...any,
) ([]Account, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("querying accounts: %w", err)
	}
	defer func() { _ = rows.Close() }()

	var accounts []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning account: %w", err)
		}
		accounts = append(accounts, a)
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("querying accounts: %w", err)
	}

	return accounts, nil
}

// getAccount reads one account through q (a pool or a transaction).
func getAccount(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, id string,
) (Account, error) {
	a, err := scanAccount(q.QueryRowContext(ctx, sqlGetAccount, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("account %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("reading account: %w", err)
	}

	return a, nil
}

// GetAccount returns the account with id, or ErrNotFound. It does not check
// visibility: callers serving a user check OwnerID (or use ListAccounts).
func (s *Store) GetAccount(ctx context.Context, id string) (Account, error) {
	return getAccount(ctx, s.rdb, id)
}

// ListAccounts returns the accounts v may see, oldest first.
func (s *Store) ListAccounts(ctx context.Context, v Viewer) ([]Account, error) {
	if v.Admin {
		return queryAccounts(ctx, s.rdb, sqlListAllAccounts)
	}

	return queryAccounts(ctx, s.rdb, sqlListOwnedAccounts, v.UserID)
}

// UpdateAccount applies the patch and returns the updated account. Setting a
// status other than AccountError clears ErrorMessage. It returns ErrNotFound
// for an unknown account or owner. Moving the account between workers
// (e.g. after pausing it) is the caller's job.
func (s *Store) UpdateAccount(ctx context.Context, id string, p AccountPatch) (Account, error) {
	if p.Status != nil && !validAccountStatus(*p.Status) {
		return Account{}, fmt.Errorf("%w: account status %q", ErrInvalid, *p.Status)
	}
	if p.MonitorInterval != nil && *p.MonitorInterval <= 0 {
		return Account{}, fmt.Errorf("%w: monitor interval must be positive", ErrInvalid)
	}

	var owner sql.NullString
	if p.OwnerID != nil {
		owner = nullString(*p.OwnerID)
	}

	var a Account
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, sqlUpdateAccount, p.Status, p.MonitorInterval, p.Name, p.OwnerID != nil,
			owner, s.nowDB(), id)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("owner %q: %w", owner.String, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("updating account: %w", err)
		}
		if err = oneRow(res, "account", id); err != nil {
			return err
		}
		a, err = getAccount(ctx, tx, id)

		return err
	})

	return a, err
}

// DeleteAccount removes the account with its messages, notifications and
// read marks. It returns ErrNotFound for an unknown account.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	res, err := s.wdb.ExecContext(ctx, sqlDeleteAccount, id)
	if err != nil {
		return fmt.Errorf("deleting account: %w", err)
	}

	return oneRow(res, "account", id)
}

// AccountCredentials returns the account's decrypted credentials, nil if it
// has none, or ErrNotFound.
func (s *Store) AccountCredentials(ctx context.Context, id string) ([]byte, error) {
	var sealed sql.NullString
	err := s.rdb.QueryRowContext(ctx, sqlAccountCredentials, id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	if !sealed.Valid {
		return nil, nil
	}

	creds, err := credseal.Open(s.key, sealed.String, id)
	if err != nil {
		return nil, fmt.Errorf("opening credentials of %q: %w", id, err)
	}

	return creds, nil
}

// SetAccountCredentials replaces the account's credentials (nil or empty
// removes them) and their expiry, and sets CredentialsUpdatedAt to now. It
// returns ErrNotFound for an unknown account.
func (s *Store) SetAccountCredentials(ctx context.Context, id string, creds []byte, expiresAt *time.Time) error {
	sealed, err := s.sealCredentials(id, creds)
	if err != nil {
		return err
	}
	now := s.nowDB()
	if !sealed.Valid {
		expiresAt = nil
	}

	res, err := s.wdb.ExecContext(ctx, sqlSetAccountCredentials, sealed, now, toDBPtr(expiresAt), now, id)
	if err != nil {
		return fmt.Errorf("setting credentials: %w", err)
	}

	return oneRow(res, "account", id)
}

// SetAccountWorker assigns the account to workerID ("" unassigns). It
// returns ErrNotFound for an unknown account; the worker is not checked.
func (s *Store) SetAccountWorker(ctx context.Context, id, workerID string) error {
	res, err := s.wdb.ExecContext(ctx, sqlSetAccountWorker, workerID, s.nowDB(), id)
	if err != nil {
		return fmt.Errorf("setting account worker: %w", err)
	}

	return oneRow(res, "account", id)
}

// SetAccountStatus sets status and error message and returns the updated
// account, or ErrNotFound.
func (s *Store) SetAccountStatus(ctx context.Context, id, status, errMsg string) (Account, error) {
	if !validAccountStatus(status) {
		return Account{}, fmt.Errorf("%w: account status %q", ErrInvalid, status)
	}

	var a Account
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, sqlSetAccountStatus, status, errMsg, s.nowDB(), id)
		if err != nil {
			return fmt.Errorf("setting account status: %w", err)
		}
		if err = oneRow(res, "account", id); err != nil {
			return err
		}
		a, err = getAccount(ctx, tx, id)

		return err
	})

	return a, err
}

// IncrementNetworkErrors adds one to the account's consecutive network error
// count and returns the new count, or ErrNotFound.
func (s *Store) IncrementNetworkErrors(ctx context.Context, id string) (int, error) {
	var n int
	err := s.wdb.QueryRowContext(ctx, sqlIncrementNetworkErrors, id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("account %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("incrementing network errors: %w", err)
	}

	return n, nil
}

// ResetNetworkErrors sets the account's network error count to zero, or
// returns ErrNotFound.
func (s *Store) ResetNetworkErrors(ctx context.Context, id string) error {
	res, err := s.wdb.ExecContext(ctx, sqlResetNetworkErrors, id)
	if err != nil {
		return fmt.Errorf("resetting network errors: %w", err)
	}

	return oneRow(res, "account", id)
}

// AccountsOfWorker returns the accounts assigned to workerID.
func (s *Store) AccountsOfWorker(ctx context.Context, workerID string) ([]Account, error) {
	if workerID == "" {
		return nil, fmt.Errorf("%w: empty worker id", ErrInvalid)
	}

	return queryAccounts(ctx, s.rdb, sqlAccountsOfWorker, workerID)
}

// AssignableAccounts returns the unassigned accounts on one of the given
// platforms that a worker should monitor, oldest first. Active and
// rate-limited accounts are assignable (a rate limit is temporary and the
// worker backs off); paused accounts are not (the user stopped them) and
// neither are accounts in error (they need new credentials first). An empty
// platforms list matches nothing.
func (s *Store) AssignableAccounts(ctx context.Context, platforms []string) ([]Account, error) {
	if len(platforms) == 0 {
		return nil, nil
	}

	args := make([]any, len(platforms))
	for i, p := range platforms {
		args[i] = p
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(platforms)), ",")

	return queryAccounts(ctx, s.rdb, fmt.Sprintf(sqlAssignableAccounts, marks), args...)
}
