// Package master composes the Tidewatch master: the store, the Socket.IO
// hub, the REST API and the metrics, behind one HTTP listener. Everything is
// built here, in one place, so a missing part fails at start-up rather than
// silently at the first push.
package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tidewatch/tidewatch/master/api"
	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/master/metrics"
	"github.com/tidewatch/tidewatch/master/store"
)

// Defaults of the master.
const (
	DefaultListen          = "127.0.0.1:7600"
	DefaultRetention       = 30 * 24 * time.Hour
	DefaultPruneInterval   = time.Hour
	DefaultTokenTTL        = 30 * 24 * time.Hour
	DefaultShutdownTimeout = 10 * time.Second
)

// File names inside the data directory.
const (
	DBFile      = "tidewatch.db"
	KeyFile     = "master.key"
	JWTKeyFile  = "jwt.key"
	dataDirMode = 0o700
)

// Config configures a Server.
type Config struct {
	// DataDir holds the database and key files; created if missing.
	DataDir string
	// Listen is the HTTP address for the API and Socket.IO.
	Listen string
	// Logger must not be nil.
	Logger *slog.Logger
	// Hub carries the fleet and push timings; Store, Issuer, Metrics and
	// Logger in it are filled in by New.
	Hub hub.Config
	// Retention is how long messages and notifications are kept.
	Retention time.Duration
	// PruneInterval is how often old data is pruned.
	PruneInterval time.Duration
	// TokenTTL is the lifetime of client JWTs.
	TokenTTL time.Duration
	// Version is reported by /healthz.
	Version string
	// TrustForwardedFor takes a client's address from X-Forwarded-For when
	// the request comes from a loopback or private-network proxy, so login
	// rate limits apply per client rather than to the proxy.
	TrustForwardedFor bool
}

// Server is a running master.
type Server struct {
	cfg     Config
	log     *slog.Logger
	Store   *store.Store
	Hub     *hub.Hub
	Issuer  *auth.Issuer
	Metrics *metrics.Metrics
	echo    *echo.Echo
	httpSrv *http.Server
	ln      net.Listener

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// OpenStore opens the store of a data directory; the CLI's offline
// commands use it too.
func OpenStore(ctx context.Context, dataDir string, logger *slog.Logger) (*store.Store, error) {
	if dataDir == "" {
		return nil, errors.New("data directory is required")
	}
	if err := os.MkdirAll(dataDir, dataDirMode); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	key, err := auth.LoadOrCreateKeyFile(filepath.Join(dataDir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("loading master key: %w", err)
	}
	st, err := store.Open(ctx, &store.Config{Path: filepath.Join(dataDir, DBFile), Key: key, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	return st, nil
}

// New builds a master from cfg. Nothing listens until Start.
func New(ctx context.Context, cfg *Config) (*Server, error) {
	c := *cfg
	if c.Logger == nil {
		return nil, errors.New("master: logger is required")
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.PruneInterval <= 0 {
		c.PruneInterval = DefaultPruneInterval
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	st, err := OpenStore(ctx, c.DataDir, c.Logger)
	if err != nil {
		return nil, err
	}
	jwtKey, err := auth.LoadOrCreateKeyFile(filepath.Join(c.DataDir, JWTKeyFile))
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("loading token signing key: %w", err)
	}
	s := &Server{cfg: c, log: c.Logger, Store: st, Metrics: metrics.New()}
	s.Issuer = auth.NewIssuer(jwtKey, c.TokenTTL, c.Hub.Now)
	hc := c.Hub
	hc.Store, hc.Issuer, hc.Metrics, hc.Logger = st, s.Issuer, s.Metrics, c.Logger
	if s.Hub, err = hub.New(&hc); err != nil {
		_ = st.Close()
		return nil, err
	}
	s.echo = echo.New()
	s.echo.HideBanner, s.echo.HidePort = true, true
	apiCfg := &api.Config{Store: st, Fleet: s.Hub, Issuer: s.Issuer, Metrics: s.Metrics, Logger: c.Logger, Version: c.Version}
	if c.TrustForwardedFor {
		apiCfg.ClientIP = echo.ExtractIPFromXFFHeader()
	}
	if err := api.Register(s.echo, apiCfg); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("registering api: %w", err)
	}
	sio := echo.WrapHandler(s.Hub.Handler())
	s.echo.Any("/socket.io", sio)
	s.echo.Any("/socket.io/*", sio)
	s.httpSrv = &http.Server{Handler: s.echo, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Start listens and serves until Shutdown.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := s.Hub.Start(ctx); err != nil {
		_ = ln.Close()
		return err
	}
	s.wg.Add(2)
	go s.serve()
	go s.pruneLoop(ctx)
	n, err := s.Store.CountUsers(ctx)
	if err == nil && n == 0 {
		s.log.WarnContext(ctx, "no users yet; create an admin with: tidewatch-master user add --data "+s.cfg.DataDir+" --username NAME --admin --password-stdin")
	}
	s.log.InfoContext(ctx, "master listening", "addr", ln.Addr().String(), "data", s.cfg.DataDir)
	return nil
}

// Addr returns the address the server listens on, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// serve runs the HTTP server; it is a goroutine.
func (s *Server) serve() {
	defer s.wg.Done()
	if err := s.httpSrv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("http server stopped", "err", err)
	}
}

// pruneLoop deletes data past the retention period; it is a goroutine.
func (s *Server) pruneLoop(ctx context.Context) {
	defer s.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("recovered panic", "in", "prune", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	t := time.NewTicker(s.cfg.PruneInterval)
	defer t.Stop()
	for {
		n, err := s.Store.Prune(ctx, time.Now().Add(-s.cfg.Retention))
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.ErrorContext(ctx, "pruning old data", "err", err)
		case n > 0:
			s.log.InfoContext(ctx, "pruned old data", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Shutdown stops serving, closes every connection and the store.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.cancel != nil {
		s.cancel()
	}
	var errs []error
	if err := s.Hub.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.httpSrv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stopping http: %w", err))
	}
	s.wg.Wait()
	if err := s.Store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing store: %w", err))
	}
	return errors.Join(errs...)
}
