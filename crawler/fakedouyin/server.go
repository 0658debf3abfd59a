package fakedouyin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of Config.
const (
	// DefaultListen binds a random free port on the loopback interface.
	DefaultListen = "127.0.0.1:0"
	// DefaultQRRotate is how often a pending QR code is replaced.
	DefaultQRRotate = 60 * time.Second
	// DefaultQRPollInterval is how often the login panel polls its status.
	DefaultQRPollInterval = time.Second
	// DefaultIMPollInterval is how often the home page polls for new DMs.
	DefaultIMPollInterval = 2 * time.Second
	// DefaultIMReplay is how many recent DMs a fresh page load replays
	// into msgListToPush, as the real store does after a reload.
	DefaultIMReplay = 20
	// DefaultNoticeCount is the count the home page asks the notice feed for.
	DefaultNoticeCount = 20
	// DefaultSimulateInterval is the pause between two rounds of simulated
	// traffic.
	DefaultSimulateInterval = 5 * time.Second
	// DefaultLoginIdleTimeout drops a QR login session whose page stopped
	// polling.
	DefaultLoginIdleTimeout = time.Minute
	// DefaultShutdownTimeout bounds Shutdown when the caller's context has
	// no deadline.
	DefaultShutdownTimeout = 5 * time.Second
)

// Config configures a Server. The zero value of every field means its
// default.
type Config struct {
	// Listen is the TCP address; DefaultListen when empty.
	Listen string
	// CookieDomain is the domain written into returned cookie jars; the
	// host of Listen (cookies are host-only) when empty.
	CookieDomain string
	// QRRotate is how often a pending QR code gets a new token and image.
	QRRotate time.Duration
	// QRPollInterval is how often the login panel's JavaScript polls.
	QRPollInterval time.Duration
	// IMPollInterval is how often the home page's JavaScript polls for DMs.
	IMPollInterval time.Duration
	// IMReplay is how many recent DMs a page load replays; negative means
	// none.
	IMReplay int
	// NoticeCount is the count parameter the home page sends.
	NoticeCount int
	// Simulate starts simulated traffic at Start.
	Simulate bool
	// SimulateInterval is the pause between rounds of simulated traffic.
	SimulateInterval time.Duration
	// LoginIdleTimeout drops login sessions whose page stopped polling.
	LoginIdleTimeout time.Duration
	// Logger receives the fake's logs; slog.Default() when nil. Cookie
	// values are never logged.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Seed seeds the generator of ids, names and texts; 0 picks a random
	// seed.
	Seed uint64
}

// withDefaults returns a copy of c with every zero field set to its default.
func (c *Config) withDefaults() Config {
	out := *c
	if out.Listen == "" {
		out.Listen = DefaultListen
	}
	if out.QRRotate <= 0 {
		out.QRRotate = DefaultQRRotate
	}
	if out.QRPollInterval <= 0 {
		out.QRPollInterval = DefaultQRPollInterval
	}
	if out.IMPollInterval <= 0 {
		out.IMPollInterval = DefaultIMPollInterval
	}
	if out.IMReplay == 0 {
		out.IMReplay = DefaultIMReplay
	}
	if out.NoticeCount <= 0 {
		out.NoticeCount = DefaultNoticeCount
	}
	if out.SimulateInterval <= 0 {
		out.SimulateInterval = DefaultSimulateInterval
	}
	if out.LoginIdleTimeout <= 0 {
		out.LoginIdleTimeout = DefaultLoginIdleTimeout
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	return out
}

// ErrNotFound is returned by control methods for an unknown account or
// login session.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by a login session action that its state forbids.
var ErrConflict = errors.New("conflict")

// Server is the fake Douyin: one HTTP server for the www and creator
// origins plus the control API. Its control methods are safe for concurrent
// use and work before Start.
type Server struct {
	cfg Config
	log *slog.Logger
	// cookieDomain is written into returned jars.
	cookieDomain string

	// mu guards everything below.
	mu       sync.Mutex
	rng      *rand.Rand
	accounts map[string]*account
	order    []string
	// sessions maps a sessionid cookie value to the uid it logs in.
	sessions map[string]string
	logins   map[string]*loginSession
	// nextID is the last 19-digit id handed out; ids only grow.
	nextID      uint64
	simOn       bool
	simInterval time.Duration

	// simWake nudges the simulation loop after a change of its settings.
	simWake chan struct{}
	srv     *http.Server
	ln      net.Listener
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a Server for cfg; cfg may be nil for all defaults.
func New(cfg *Config) (*Server, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	c := cfg.withDefaults()
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return nil, fmt.Errorf("parsing listen address %q: %w", c.Listen, err)
	}
	domain := c.CookieDomain
	if domain == "" {
		domain = host
		if domain == "" || domain == "0.0.0.0" || domain == "::" {
			domain = "127.0.0.1"
		}
	}
	seed := c.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &Server{
		cfg:          c,
		log:          c.Logger.With("component", "fakedouyin"),
		cookieDomain: domain,
		rng:          rng,
		accounts:     map[string]*account{},
		sessions:     map[string]string{},
		logins:       map[string]*loginSession{},
		// Real ids of this era start with 7; leave room to grow below 2^63.
		nextID:      7_200_000_000_000_000_000 + rng.Uint64N(100_000_000_000_000_000),
		simOn:       c.Simulate,
		simInterval: c.SimulateInterval,
		simWake:     make(chan struct{}, 1),
	}, nil
}

// Start listens and serves in the background until Shutdown or until ctx
// ends.
func (s *Server) Start(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.Listen, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.ln = ln
	s.cancel = cancel
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return runCtx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.wg.Add(3)
	go s.serve()
	go s.simulate(runCtx)
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			// Cancelling first ends slow bodies, which watch the request
			// context, so the graceful shutdown does not wait on them.
			cancel()
			sctx, scancel := context.WithTimeout(context.Background(), DefaultShutdownTimeout)
			defer scancel()
			_ = s.srv.Shutdown(sctx)
		case <-runCtx.Done():
		}
	}()
	s.log.InfoContext(ctx, "fake douyin listening", "addr", ln.Addr().String())
	return nil
}

// serve runs the HTTP server; it is a goroutine started by Start.
func (s *Server) serve() {
	defer s.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("serve panicked", "panic", p)
		}
	}()
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("serving", "err", err)
	}
}

// Addr is the address the server listens on, valid after Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL is the base URL of both origins, like "http://127.0.0.1:7700",
// valid after Start.
func (s *Server) URL() string {
	return "http://" + s.Addr()
}

// Shutdown stops the server and the simulation and waits for them.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultShutdownTimeout)
		defer cancel()
	}
	// Cancelling first ends slow bodies, which watch the request context.
	s.cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("shutting down http server: %w", err), s.srv.Close())
	}
	s.wg.Wait()
	return err
}

// now is the server's clock.
func (s *Server) now() time.Time { return s.cfg.Now() }
