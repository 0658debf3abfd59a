package store

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testClock is a settable clock for deterministic timestamps.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

// now returns the current test time.
func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.t
}

// advance moves the clock forward.
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKey is a fixed master key for tests.
var testKey = bytes.Repeat([]byte{0x42}, 32)

// testEnv is a store under test with its clock and file path.
type testEnv struct {
	s     *Store
	clock *testClock
	path  string
}

// newTestStore opens a store in a fresh temporary directory.
func newTestStore(t testing.TB) *testEnv {
	t.Helper()

	env := &testEnv{
		clock: &testClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
		path:  filepath.Join(t.TempDir(), "tidewatch.db"),
	}
	env.s = env.open(t)

	return env
}

// open opens (or reopens) the env's database file.
func (env *testEnv) open(t testing.TB) *Store {
	t.Helper()

	s, err := Open(context.Background(), &Config{
		Path:   env.path,
		Key:    testKey,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    env.clock.now,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	return s
}

// mustUser creates a user.
func mustUser(t testing.TB, s *Store, name string, admin bool) User {
	t.Helper()

	u, err := s.CreateUser(context.Background(), name, "$2a$04$hash-of-"+name, admin)
	require.NoError(t, err)

	return u
}

// mustAccount creates an account owned by ownerID.
func mustAccount(t testing.TB, s *Store, ownerID, platformID string) Account {
	t.Helper()

	a, err := s.CreateAccount(context.Background(), Account{
		OwnerID: ownerID, Platform: "douyin", PlatformAccountID: platformID, Name: "acct " + platformID,
	}, nil)
	require.NoError(t, err)

	return a
}

// mustIngest ingests a comment with the given platform id.
func mustIngest(t testing.TB, s *Store, accountID, platformID string) Notification {
	t.Helper()

	n, dup, err := s.IngestMessage(context.Background(), Message{
		AccountID: accountID, MessageType: MessageComment, PlatformID: platformID,
		WorkerMessageID: "cmt-" + platformID, Content: "hello " + platformID,
	}, Notification{Title: "新评论", Content: "hello " + platformID})
	require.NoError(t, err)
	require.False(t, dup)

	return n
}

func TestOpen_Errors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  *Config
	}{
		{name: "nil config", cfg: nil},
		{name: "empty path", cfg: &Config{Key: testKey}},
		{name: "question mark", cfg: &Config{Path: filepath.Join(dir, "a?b.db"), Key: testKey}},
		{name: "short key", cfg: &Config{Path: filepath.Join(dir, "x.db"), Key: []byte("short")}},
		{name: "missing dir", cfg: &Config{Path: filepath.Join(dir, "no", "such", "x.db"), Key: testKey}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.cfg)
			assert.Error(t, err)
			assert.Nil(t, s)
		})
	}
}

func TestOpen_PragmasAndMigrations(t *testing.T) {
	env := newTestStore(t)
	ctx := context.Background()

	var mode string
	require.NoError(t, env.s.wdb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)

	for _, db := range []*sql.DB{env.s.wdb, env.s.rdb} {
		var syncMode, fk int
		require.NoError(t, db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncMode))
		assert.Equal(t, 2, syncMode, "synchronous=FULL")
		require.NoError(t, db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk))
		assert.Equal(t, 1, fk)
	}

	// The read pool must refuse writes.
	_, err := env.s.rdb.ExecContext(ctx, "DELETE FROM users")
	assert.Error(t, err)

	u := mustUser(t, env.s, "alice", false)
	require.NoError(t, env.s.Close())

	// Reopening applies no migration twice and keeps the data.
	s2 := env.open(t)
	var version, rows int
	require.NoError(t, s2.rdb.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&version))
	require.NoError(t, s2.rdb.QueryRowContext(ctx, "SELECT count(*) FROM schema_version").Scan(&rows))
	assert.Equal(t, len(migrations), version)
	assert.Equal(t, 1, rows)

	got, err := s2.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got)
}

func TestOpen_NewerSchemaRefused(t *testing.T) {
	env := newTestStore(t)
	_, err := env.s.wdb.Exec(sqlSetSchemaVersion, len(migrations)+1)
	require.NoError(t, err)
	require.NoError(t, env.s.Close())

	_, err = Open(context.Background(), &Config{Path: env.path, Key: testKey})
	assert.ErrorContains(t, err, "newer")
}

func TestUsers(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()

	n, err := s.CountUsers(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)

	alice, err := s.CreateUser(ctx, "alice", "hash-a", true)
	require.NoError(t, err)
	assert.Regexp(t, `^usr-[0-9a-f]{16}$`, alice.ID)
	assert.True(t, alice.Admin)
	assert.Equal(t, env.clock.now(), alice.CreatedAt)

	env.clock.advance(time.Second)
	bob, err := s.CreateUser(ctx, "bob", "hash-b", false)
	require.NoError(t, err)

	tests := []struct {
		name    string
		user    string
		hash    string
		wantErr error
	}{
		{name: "duplicate", user: "alice", hash: "h", wantErr: ErrConflict},
		{name: "empty name", user: "", hash: "h", wantErr: ErrInvalid},
		{name: "empty hash", user: "carol", hash: "", wantErr: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateUser(ctx, tc.user, tc.hash, false)
			assert.ErrorIs(t, err, tc.wantErr)
		})
	}

	got, hash, err := s.UserByUsername(ctx, "bob")
	require.NoError(t, err)
	assert.Equal(t, bob, got)
	assert.Equal(t, "hash-b", hash)

	_, _, err = s.UserByUsername(ctx, "nobody")
	assert.ErrorIs(t, err, ErrNotFound)

	_, err = s.GetUser(ctx, "usr-none")
	assert.ErrorIs(t, err, ErrNotFound)

	users, err := s.ListUsers(ctx)
	require.NoError(t, err)
	assert.Equal(t, []User{alice, bob}, users)

	n, err = s.CountUsers(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

func TestWorkerTokens(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()

	tok, secret, err := s.CreateWorkerToken(ctx, "living room pi")
	require.NoError(t, err)
	assert.Regexp(t, `^wtk-[0-9a-f]{16}$`, tok.ID)
	assert.Regexp(t, `^twk_`+tok.ID+`_[A-Za-z0-9_-]{43}$`, secret)
	assert.Nil(t, tok.RevokedAt)

	other, otherSecret, err := s.CreateWorkerToken(ctx, "other")
	require.NoError(t, err)

	env.clock.advance(time.Minute)
	got, key, err := s.VerifyWorkerToken(ctx, secret)
	require.NoError(t, err)
	assert.Equal(t, tok.ID, got.ID)
	require.NotNil(t, got.LastUsedAt)
	assert.Equal(t, env.clock.now(), *got.LastUsedAt)
	assert.Len(t, key, 32)

	// The seal key is stable across verifications and differs per token.
	_, key2, err := s.VerifyWorkerToken(ctx, secret)
	require.NoError(t, err)
	assert.Equal(t, key, key2)
	_, otherKey, err := s.VerifyWorkerToken(ctx, otherSecret)
	require.NoError(t, err)
	assert.NotEqual(t, key, otherKey)

	// A forged secret carrying a valid id.
	forged := secret[:len(secret)-43] + otherSecret[len(otherSecret)-43:]

	tests := []struct {
		name   string
		secret string
	}{
		{name: "empty", secret: ""},
		{name: "garbage", secret: "hello"},
		{name: "unknown id", secret: "twk_wtk-0000000000000000_" + secret[len(secret)-43:]},
		{name: "wrong random part", secret: forged},
		{name: "truncated", secret: secret[:len(secret)-1]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, key, err := s.VerifyWorkerToken(ctx, tc.secret)
			assert.ErrorIs(t, err, ErrUnauthorized)
			assert.Nil(t, key)
		})
	}

	require.NoError(t, s.RevokeWorkerToken(ctx, tok.ID))
	_, _, err = s.VerifyWorkerToken(ctx, secret)
	assert.ErrorIs(t, err, ErrUnauthorized)
	// Revoking twice is fine; unknown ids are not.
	require.NoError(t, s.RevokeWorkerToken(ctx, tok.ID))
	assert.ErrorIs(t, s.RevokeWorkerToken(ctx, "wtk-none"), ErrNotFound)

	list, err := s.ListWorkerTokens(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, tok.ID, list[0].ID)
	require.NotNil(t, list[0].RevokedAt)
	assert.Equal(t, other.ID, list[1].ID)
	assert.Nil(t, list[1].RevokedAt)
	assert.NotNil(t, list[1].LastUsedAt)

	// Neither the secret nor its derived key is stored in the clear.
	require.NoError(t, s.Checkpoint(ctx))
	raw, err := os.ReadFile(env.path)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, []byte(secret)))
	assert.False(t, bytes.Contains(raw, key))
}

func TestWorkers(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()

	w := Worker{
		ID: "worker-001", TokenID: "wtk-1", Host: "192.168.1.100", Port: 4000, Version: "1.0.0",
		Capabilities: []string{"douyin"}, MaxAccounts: 10,
	}
	require.NoError(t, s.UpsertWorker(ctx, w))

	got, err := s.GetWorker(ctx, "worker-001")
	require.NoError(t, err)
	assert.Equal(t, WorkerOnline, got.Status)
	assert.Equal(t, env.clock.now(), got.ConnectedAt)
	assert.Equal(t, env.clock.now(), got.LastSeenAt)
	assert.True(t, got.LastHeartbeatAt.IsZero())
	assert.Equal(t, []string{"douyin"}, got.Capabilities)
	assert.Nil(t, got.Extra)

	hb := env.clock.now().Add(10 * time.Second)
	extra := []byte(`{"disk_free_mb":1200}`)
	require.NoError(t, s.RecordHeartbeat(ctx, "worker-001", WorkerOnline, 3, 150.5, 25.3, extra, hb))
	got, err = s.GetWorker(ctx, "worker-001")
	require.NoError(t, err)
	assert.Equal(t, 3, got.ActiveTasks)
	assert.InDelta(t, 150.5, got.MemoryUsage, 1e-9)
	assert.InDelta(t, 25.3, got.CPUUsage, 1e-9)
	assert.JSONEq(t, string(extra), string(got.Extra))
	assert.Equal(t, hb, got.LastHeartbeatAt)
	assert.Equal(t, hb, got.LastSeenAt)

	require.NoError(t, s.SetWorkerStatus(ctx, "worker-001", WorkerOffline))
	got, err = s.GetWorker(ctx, "worker-001")
	require.NoError(t, err)
	assert.Equal(t, WorkerOffline, got.Status)

	// Re-registration replaces the row.
	w.Version, w.Capabilities = "1.1.0", nil
	require.NoError(t, s.UpsertWorker(ctx, w))
	require.NoError(t, s.UpsertWorker(ctx, Worker{ID: "worker-000", Status: WorkerDraining}))
	list, err := s.ListWorkers(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "worker-000", list[0].ID)
	assert.Equal(t, "1.1.0", list[1].Version)
	assert.Equal(t, WorkerOnline, list[1].Status)
	assert.Empty(t, list[1].Capabilities)

	errTests := []struct {
		name    string
		run     func() error
		wantErr error
	}{
		{name: "get unknown", run: func() error { _, err := s.GetWorker(ctx, "nope"); return err }, wantErr: ErrNotFound},
		{name: "heartbeat unknown", run: func() error {
			return s.RecordHeartbeat(ctx, "nope", WorkerOnline, 0, 0, 0, nil, time.Time{})
		}, wantErr: ErrNotFound},
		{name: "heartbeat bad status", run: func() error {
			return s.RecordHeartbeat(ctx, "worker-001", "sleeping", 0, 0, 0, nil, time.Time{})
		}, wantErr: ErrInvalid},
		{name: "heartbeat bad extra", run: func() error {
			return s.RecordHeartbeat(ctx, "worker-001", WorkerOnline, 0, 0, 0, []byte("{"), time.Time{})
		}, wantErr: ErrInvalid},
		{name: "status unknown", run: func() error { return s.SetWorkerStatus(ctx, "nope", WorkerOffline) }, wantErr: ErrNotFound},
		{name: "status bad", run: func() error { return s.SetWorkerStatus(ctx, "worker-001", "x") }, wantErr: ErrInvalid},
		{name: "upsert empty id", run: func() error { return s.UpsertWorker(ctx, Worker{}) }, wantErr: ErrInvalid},
		{name: "upsert bad status", run: func() error { return s.UpsertWorker(ctx, Worker{ID: "w", Status: "x"}) }, wantErr: ErrInvalid},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, tc.run(), tc.wantErr)
		})
	}
}

func TestDevices(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	u := mustUser(t, s, "alice", false)

	require.NoError(t, s.UpsertDevice(ctx, Device{UserID: u.ID, DeviceID: "d1", DeviceType: "desktop", DeviceName: "Mac"}))
	env.clock.advance(time.Minute)
	require.NoError(t, s.UpsertDevice(ctx, Device{UserID: u.ID, DeviceID: "d1", DeviceType: "desktop", DeviceName: "Mac 2"}))
	require.NoError(t, s.UpsertDevice(ctx, Device{UserID: u.ID, DeviceID: "d0", LastSeenAt: env.clock.now().Add(-time.Hour)}))

	list, err := s.ListDevices(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, Device{UserID: u.ID, DeviceID: "d1", DeviceType: "desktop", DeviceName: "Mac 2", LastSeenAt: env.clock.now()}, list[0])
	assert.Equal(t, "d0", list[1].DeviceID)

	assert.ErrorIs(t, s.UpsertDevice(ctx, Device{UserID: "usr-none", DeviceID: "d"}), ErrNotFound)
	assert.ErrorIs(t, s.UpsertDevice(ctx, Device{UserID: u.ID}), ErrInvalid)
}
