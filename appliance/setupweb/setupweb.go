// Package setupweb serves the appliance's local setup web page on the LAN:
// a first-run wizard guarded by a one-time setup code, then, behind a login,
// a live status page and the settings (master, enrollment token, worker name,
// capacity, password). Its HTML, CSS and JavaScript are embedded; the page
// loads nothing from elsewhere.
package setupweb

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/tidewatch/tidewatch/appliance/config"
)

// Defaults of [Config].
const (
	// DefaultListen is the setup page's address.
	DefaultListen = config.DefaultSetupListen
	// DefaultLoginBurst is how many wrong passwords or setup codes a client
	// may enter in a row before it must wait.
	DefaultLoginBurst = 5
	// DefaultLoginRate is how fast a client earns back a wrong attempt: one
	// every 12 s, so guessing is hopeless while a person who mistyped waits
	// only seconds.
	DefaultLoginRate = rate.Limit(1.0 / 12)
	// DefaultSessionTTL is how long a login lasts.
	DefaultSessionTTL = 12 * time.Hour
	// DefaultRefreshInterval is how often the status page fetches new figures.
	DefaultRefreshInterval = 3 * time.Second
	// DefaultTestTimeout bounds one "test connection" to the master.
	DefaultTestTimeout = 15 * time.Second
	// DefaultApplyTimeout bounds applying new settings.
	DefaultApplyTimeout = 30 * time.Second
	// DefaultMaxSessions caps the session table, so a stranger cannot fill
	// the appliance's memory with sessions.
	DefaultMaxSessions = 64

	// MinPasswordLen is the shortest accepted setup password.
	MinPasswordLen = 8
	// maxPasswordBytes is bcrypt's input limit.
	maxPasswordBytes = 72
	// maxTokenLen bounds an enrollment token typed into the page.
	maxTokenLen = 512
)

// ConfigStore loads and saves the appliance configuration.
// [config.Store] implements it.
type ConfigStore interface {
	// Load returns the stored configuration.
	Load(ctx context.Context) (*config.Config, error)
	// Save replaces the stored configuration.
	Save(ctx context.Context, cfg *config.Config) error
}

// Applier puts a saved configuration into effect without a reinstall: the
// appliance reconnects to the (possibly new) master with the new settings.
type Applier interface {
	// Apply takes effect of cfg; it must not keep cfg after returning.
	Apply(ctx context.Context, cfg *config.Config) error
}

// ConnectionTester tries a master address and enrollment token for real.
type ConnectionTester interface {
	// Test connects to masterURL with token and reports what the master
	// said. An error means the test itself could not be run.
	Test(ctx context.Context, masterURL, token string) (TestResult, error)
}

// StatusSource reports the appliance's current state for the status page.
type StatusSource interface {
	// Status returns a snapshot; it should answer within a second.
	Status(ctx context.Context) Status
}

// TestOutcome classifies the answer of a connection test.
type TestOutcome string

// Outcomes of a connection test.
const (
	// TestOK means the master accepted the token.
	TestOK TestOutcome = "ok"
	// TestUnreachable means no connection to the master could be made.
	TestUnreachable TestOutcome = "unreachable"
	// TestBadToken means the master refused the enrollment token.
	TestBadToken TestOutcome = "bad_token"
	// TestVersionMismatch means the master speaks an unsupported protocol
	// version.
	TestVersionMismatch TestOutcome = "version_mismatch"
)

// TestResult is the answer of [ConnectionTester.Test].
type TestResult struct {
	// Outcome classifies the answer.
	Outcome TestOutcome
	// Message explains it for a person, e.g. the master's error text. It
	// must not contain the token.
	Message string
}

// ConnectionState is the state of the link to the master.
type ConnectionState string

// Link states shown on the status page.
const (
	// StateConnected means registered with the master.
	StateConnected ConnectionState = "connected"
	// StateConnecting means a connection attempt or back-off is under way.
	StateConnecting ConnectionState = "connecting"
	// StateDisconnected means no connection and none being attempted.
	StateDisconnected ConnectionState = "disconnected"
	// StateRejected means the master refused this appliance (e.g. a revoked
	// token); it needs new settings.
	StateRejected ConnectionState = "rejected"
	// StateNotConfigured means setup has not been finished.
	StateNotConfigured ConnectionState = "not_configured"
)

// Status is a snapshot of the appliance for the status page.
type Status struct {
	// Connection is the state of the link to the master.
	Connection ConnectionState
	// ConnectionDetail explains the state, e.g. the last connection error.
	ConnectionDetail string
	// WorkerID is the id the appliance registers with.
	WorkerID string
	// WorkerName is the appliance's display name.
	WorkerName string
	// MasterURL is the master in use.
	MasterURL string
	// Accounts are the monitored accounts, in display order.
	Accounts []AccountStatus
	// System holds the machine's figures.
	System SystemInfo
	// OutboxDepth is the number of detected items not yet acknowledged.
	OutboxDepth int
	// LogLines are the last log lines, oldest first (see package logring).
	LogLines []string
}

// AccountStatus is one monitored account.
type AccountStatus struct {
	// AccountID is the master's id of the account.
	AccountID string
	// Platform is e.g. "douyin".
	Platform string
	// State is the monitor's state, e.g. "running", "login_required".
	State string
	// LastPoll is the time of the last check; zero if none yet.
	LastPoll time.Time
	// LastResult summarises the last check, e.g. "2 new comments".
	LastResult string
	// LastError is the last check's error; empty when it succeeded.
	LastError string
}

// SystemInfo holds the machine's figures.
type SystemInfo struct {
	// CPUPercent is the appliance's CPU use (process tree), 0-100 per core sum.
	CPUPercent float64
	// MemoryMB is the appliance's memory (process tree including Chromium).
	MemoryMB float64
	// SystemMemoryUsedMB is the machine's used memory.
	SystemMemoryUsedMB float64
	// SystemMemoryTotalMB is the machine's total memory.
	SystemMemoryTotalMB float64
	// TemperatureC is the SoC temperature; nil when there is no sensor.
	TemperatureC *float64
	// DiskFreeMB is the free space of the data directory's file system.
	DiskFreeMB float64
	// Uptime is how long the appliance process has been running.
	Uptime time.Duration
}

// Config configures a [Server]. Store, Applier, Tester and Status must not be
// nil; zero values of the other fields mean their defaults.
type Config struct {
	// Store loads and saves the configuration; must not be nil.
	Store ConfigStore
	// Applier applies saved settings; must not be nil.
	Applier Applier
	// Tester runs "test connection"; must not be nil.
	Tester ConnectionTester
	// Status feeds the status page; must not be nil.
	Status StatusSource
	// Listen is the listen address; default [DefaultListen].
	Listen string
	// Logger receives the page's log; nil discards. Secrets are never logged.
	Logger *slog.Logger
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// SetupCode is the one-time code from [NewSetupCode] that the caller
	// printed in the appliance log. Required while the appliance is not
	// configured; without it nobody on the LAN can run the wizard.
	SetupCode string
	// LoginRate is how fast a client earns back one wrong password or setup
	// code; default [DefaultLoginRate].
	LoginRate rate.Limit
	// LoginBurst is how many wrong attempts a client may make in a row;
	// default [DefaultLoginBurst].
	LoginBurst int
	// SessionTTL is how long a login lasts; default [DefaultSessionTTL].
	SessionTTL time.Duration
	// MaxSessions caps concurrent sessions; default [DefaultMaxSessions].
	MaxSessions int
	// RefreshInterval is the status page's polling interval; default
	// [DefaultRefreshInterval].
	RefreshInterval time.Duration
	// TestTimeout bounds "test connection"; default [DefaultTestTimeout].
	TestTimeout time.Duration
	// ApplyTimeout bounds saving and applying settings; default
	// [DefaultApplyTimeout].
	ApplyTimeout time.Duration
	// BcryptCost is the cost of new password hashes; default
	// bcrypt.DefaultCost. Tests lower it.
	BcryptCost int
	// Version is shown in the page footer; may be empty.
	Version string
}

// Server is the setup web page.
type Server struct {
	conf     Config
	log      *slog.Logger
	now      func() time.Time
	echo     *echo.Echo
	pages    map[string]*template.Template
	sessions *sessionStore
	// codeLimiter limits wrong setup codes, loginLimiter wrong passwords.
	codeLimiter  *attemptLimiter
	loginLimiter *attemptLimiter

	// mu guards cfg and serialises every change of the configuration.
	mu  sync.Mutex
	cfg *config.Config

	// srvMu guards srv and done.
	srvMu sync.Mutex
	srv   *http.Server
	addr  net.Addr
	done  chan struct{}
}

// New returns a setup page for the configuration in conf.Store. It fails when
// a dependency is missing, or when the appliance is not configured and no
// setup code was given.
func New(conf *Config) (*Server, error) {
	if conf == nil {
		return nil, errors.New("setupweb: config is nil")
	}
	c := *conf
	switch {
	case c.Store == nil:
		return nil, errors.New("setupweb: Store is nil")
	case c.Applier == nil:
		return nil, errors.New("setupweb: Applier is nil")
	case c.Tester == nil:
		return nil, errors.New("setupweb: Tester is nil")
	case c.Status == nil:
		return nil, errors.New("setupweb: Status is nil")
	}
	setDefaults(&c)

	cfg, err := c.Store.Load(context.Background())
	if err != nil {
		return nil, fmt.Errorf("loading config: %w", err)
	}
	if !cfg.Configured() && normaliseCode(c.SetupCode) == "" {
		return nil, errors.New("setupweb: SetupCode is required while the appliance is not configured")
	}

	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("parsing templates: %w", err)
	}

	s := &Server{
		conf:         c,
		log:          c.Logger.With("component", "setupweb"),
		now:          c.Clock,
		pages:        pages,
		sessions:     newSessionStore(c.SessionTTL, c.MaxSessions),
		codeLimiter:  newAttemptLimiter(c.LoginRate, c.LoginBurst),
		loginLimiter: newAttemptLimiter(c.LoginRate, c.LoginBurst),
		cfg:          cfg,
	}
	s.echo = s.newEcho()
	return s, nil
}

// setDefaults fills the zero fields of c.
func setDefaults(c *Config) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.LoginRate <= 0 {
		c.LoginRate = DefaultLoginRate
	}
	if c.LoginBurst <= 0 {
		c.LoginBurst = DefaultLoginBurst
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.RefreshInterval <= 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.TestTimeout <= 0 {
		c.TestTimeout = DefaultTestTimeout
	}
	if c.ApplyTimeout <= 0 {
		c.ApplyTimeout = DefaultApplyTimeout
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = bcrypt.DefaultCost
	}
}

// Handler returns the page's HTTP handler, for tests and for callers that
// run their own server.
func (s *Server) Handler() http.Handler {
	return s.echo
}

// Start listens on the configured address and serves in the background
// until [Server.Shutdown]. ctx bounds only the start.
func (s *Server) Start(ctx context.Context) error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		return errors.New("setupweb: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.conf.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.conf.Listen, err)
	}
	s.srv = &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// A connection test may take TestTimeout before the answer is written.
		WriteTimeout: s.conf.TestTimeout + s.conf.ApplyTimeout,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.addr = ln.Addr()
	s.done = make(chan struct{})
	go s.serve(s.srv, ln, s.done)
	s.log.InfoContext(ctx, "setup page listening", "addr", s.addr.String(), "configured", s.configured())
	return nil
}

// serve runs srv on ln until shutdown; it is run as a goroutine.
func (s *Server) serve(srv *http.Server, ln net.Listener, done chan<- struct{}) {
	defer close(done)
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("setup page server panicked", "panic", v)
		}
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("setup page server stopped", "err", err)
	}
}

// Addr returns the listening address after Start, else nil. With Listen
// "127.0.0.1:0" it tells the chosen port.
func (s *Server) Addr() net.Addr {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.addr
}

// Shutdown stops the server, waiting for open requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.srvMu.Lock()
	srv, done := s.srv, s.done
	s.srvMu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		// Out of time: cut the remaining connections.
		_ = srv.Close()
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	if err != nil {
		return fmt.Errorf("shutting down setup page: %w", err)
	}
	return nil
}

// configured reports whether the first-run setup is complete.
func (s *Server) configured() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Configured()
}

// currentConfig returns a copy of the configuration in effect.
func (s *Server) currentConfig() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Clone()
}
