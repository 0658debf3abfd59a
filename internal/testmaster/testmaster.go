// Package testmaster runs a real master in-process for tests: a real data
// directory, a real HTTP and Socket.IO server on 127.0.0.1, and helpers to
// add the users, enrollment tokens and accounts a test needs. Tests of the
// parts that talk to a master use it so they meet the real thing rather than
// a fake that may drift from it.
package testmaster

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master"
	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/master/store"
	"golang.org/x/crypto/bcrypt"
)

// DefaultListen is the listen address when Config.Listen is empty: any free
// port on the loopback interface.
const DefaultListen = "127.0.0.1:0"

// DefaultShutdownTimeout bounds the shutdown when Config.ShutdownTimeout is
// zero.
const DefaultShutdownTimeout = 10 * time.Second

// Config tunes a test master; the zero value serves a fresh data directory
// on a free port with the hub's default timings.
type Config struct {
	// DataDir is the data directory; empty means a new temporary one.
	// Passing the directory of a stopped master restarts it.
	DataDir string
	// Listen is the address to serve on; empty means DefaultListen.
	Listen string
	// Hub carries the fleet timings; zero fields take the hub's defaults.
	Hub hub.Config
	// ShutdownTimeout bounds Stop; zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// LaxShutdown makes Stop ignore a shutdown error instead of failing
	// the test, for tests that may leave clients connected at the end.
	LaxShutdown bool
}

// QuickHub returns hub timings short enough for tests that watch workers
// come, beat and go: a heartbeat a second, a worker is given up after five
// seconds, and the sweep runs ten times a second.
func QuickHub() hub.Config {
	return hub.Config{
		HeartbeatInterval: time.Second, LivenessTimeout: 5 * time.Second,
		DisconnectGrace: 5 * time.Second, SweepInterval: 100 * time.Millisecond,
	}
}

// Master is a running master. Its fields are fixed once Start returns.
type Master struct {
	// Server is the master itself, for its Store, Hub and Issuer.
	Server *master.Server
	// Addr is the host:port it listens on.
	Addr string
	// URL is its base URL, "http://" + Addr.
	URL string
	// Dir is its data directory.
	Dir string

	timeout time.Duration
	lax     bool

	mu      sync.Mutex
	stopped bool
}

// Start starts a master as cfg says (nil for the defaults) and stops it in
// tb's cleanup.
func Start(tb testing.TB, cfg *Config) *Master {
	tb.Helper()
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.DataDir == "" {
		c.DataDir = tb.TempDir()
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	ctx := context.Background()
	srv, err := master.New(ctx, &master.Config{
		DataDir: c.DataDir, Listen: c.Listen, Logger: slog.New(slog.DiscardHandler), Hub: c.Hub,
	})
	require.NoError(tb, err)
	require.NoError(tb, srv.Start(ctx))
	m := &Master{
		Server: srv, Addr: srv.Addr(), URL: "http://" + srv.Addr(), Dir: c.DataDir,
		timeout: c.ShutdownTimeout, lax: c.LaxShutdown,
	}
	tb.Cleanup(func() { m.Stop(tb) })
	return m
}

// Stop shuts the master down; it may be called more than once, and a test
// may call it early to see how others cope with a master that goes away.
func (m *Master) Stop(tb testing.TB) {
	tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	m.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
	defer cancel()
	err := m.Server.Shutdown(ctx)
	if !m.lax {
		assert.NoError(tb, err)
	}
}

// Token creates an enrollment token named name and returns its secret.
func (m *Master) Token(tb testing.TB, name string) string {
	tb.Helper()
	_, secret, err := m.Server.Store.CreateWorkerToken(context.Background(), name)
	require.NoError(tb, err)
	return secret
}

// User creates a user with password, hashed at the lowest bcrypt cost so
// tests stay quick.
func (m *Master) User(tb testing.TB, name, password string, admin bool) store.User {
	tb.Helper()
	hash, err := auth.HashPasswordCost(password, bcrypt.MinCost)
	require.NoError(tb, err)
	u, err := m.Server.Store.CreateUser(context.Background(), name, hash, admin)
	require.NoError(tb, err)
	return u
}

// JWT issues a client token for u, as logging in would.
func (m *Master) JWT(tb testing.TB, u store.User) string {
	tb.Helper()
	tok, _, err := m.Server.Issuer.Issue(u.ID, u.Admin)
	require.NoError(tb, err)
	return tok
}

// Account stores a with credentials creds (nil for none). It does not tell
// the hub, so the account is placed on a worker only by the hub's own
// sweep; see Place.
func (m *Master) Account(tb testing.TB, a store.Account, creds []byte) store.Account {
	tb.Helper()
	acc, err := m.Server.Store.CreateAccount(context.Background(), a, creds)
	require.NoError(tb, err)
	return acc
}

// Place tells the hub an account changed, so it places it at once.
func (m *Master) Place(tb testing.TB, accountID string) {
	tb.Helper()
	require.NoError(tb, m.Server.Hub.AccountChanged(context.Background(), accountID))
}
