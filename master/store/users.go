package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User is a person who logs in to the master (dashboard, clients).
type User struct {
	ID        string
	Username  string
	Admin     bool
	CreatedAt time.Time
}

// Viewer identifies whose eyes a query is for. An admin sees every account;
// a user sees the accounts they own.
type Viewer struct {
	UserID string
	Admin  bool
}

// SQL for users.
const (
	sqlInsertUser = `INSERT INTO users (id, username, password_hash, admin, created_at)
VALUES (?, ?, ?, ?, ?)`
	sqlUserColumns      = `id, username, admin, created_at`
	sqlUserByUsername   = `SELECT ` + sqlUserColumns + `, password_hash FROM users WHERE username = ?`
	sqlUserByID         = `SELECT ` + sqlUserColumns + ` FROM users WHERE id = ?`
	sqlListUsers        = `SELECT ` + sqlUserColumns + ` FROM users ORDER BY created_at, rowid`
	sqlCountUsers       = `SELECT count(*) FROM users`
	sqlAdminUserIDs     = `SELECT id FROM users WHERE admin = 1`
	sqlAccountOwnerByID = `SELECT owner_id FROM accounts WHERE id = ?`
)

// CreateUser adds a user. passwordHash must already be hashed (auth.HashPassword).
// It returns ErrConflict if the username is taken.
func (s *Store) CreateUser(ctx context.Context, username, passwordHash string, admin bool) (User, error) {
	if username == "" || passwordHash == "" {
		return User{}, fmt.Errorf("%w: username and password hash are required", ErrInvalid)
	}

	u := User{ID: newID(prefixUser, idBytes), Username: username, Admin: admin, CreatedAt: fromDB(s.nowDB())}
	_, err := s.wdb.ExecContext(ctx, sqlInsertUser, u.ID, u.Username, passwordHash, admin, toDB(u.CreatedAt))
	if isUniqueViolation(err) {
		return User{}, fmt.Errorf("user %q: %w", username, ErrConflict)
	}
	if err != nil {
		return User{}, fmt.Errorf("inserting user: %w", err)
	}

	return u, nil
}

// scanner is satisfied by *sql.Row and *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanUser reads the sqlUserColumns, then extra destinations.
func scanUser(sc scanner, extra ...any) (User, error) {
	var (
		u       User
		created int64
	)
	err := sc.Scan(append([]any{&u.ID, &u.Username, &u.Admin, &created}, extra...)...)
	u.CreatedAt = fromDB(created)

	return u, err
}

// UserByUsername returns the user and their password hash, or ErrNotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (User, string, error) {
	var hash string
	u, err := scanUser(s.rdb.QueryRowContext(ctx, sqlUserByUsername, username), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", fmt.Errorf("user %q: %w", username, ErrNotFound)
	}
	if err != nil {
		return User{}, "", fmt.Errorf("reading user: %w", err)
	}

	return u, hash, nil
}

// GetUser returns the user with id, or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, sqlUserByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("reading user: %w", err)
	}

	return u, nil
}

// ListUsers returns every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.rdb.QueryContext(ctx, sqlListUsers)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	defer func() { _ = rows.Close() }()

	var users []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning user: %w", err)
		}
		users = append(users, u)
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}

	return users, nil
}

// CountUsers returns the number of users (0 means first-run setup).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, sqlCountUsers).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting users: %w", err)
	}

	return n, nil
}

// AccountViewers returns the ids of the users who may see the account: its
// owner and every admin, without duplicates. It returns ErrNotFound for an
// unknown account.
func (s *Store) AccountViewers(ctx context.Context, accountID string) ([]string, error) {
	var owner sql.NullString
	err := s.rdb.QueryRowContext(ctx, sqlAccountOwnerByID, accountID).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account %q: %w", accountID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading account owner: %w", err)
	}

	rows, err := s.rdb.QueryContext(ctx, sqlAdminUserIDs)
	if err != nil {
		return nil, fmt.Errorf("listing admins: %w", err)
	}
	defer func() { _ = rows.Close() }()

	var ids []string
	if owner.Valid && owner.String != "" {
		ids = append(ids, owner.String)
	}
	for rows.Next() {
		var id string
		if err = rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scanning admin: %w", err)
		}
		if id != owner.String {
			ids = append(ids, id)
		}
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("listing admins: %w", err)
	}

	return ids, nil
}
