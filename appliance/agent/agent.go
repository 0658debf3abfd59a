// Package agent is the appliance's core. It keeps the link to the master,
// supervises one monitor per assigned account through [crawler.Factory],
// writes every detected item to the durable outbox before sending it and
// deletes it only on the master's ack, builds heartbeats from real process
// figures, and serves the setup page's status, settings and connection test.
//
// Everything that changes the set of running monitors (register acks, task
// assignments and revocations, shutdown) is serialised, so the monitors
// always match the last word of the master.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/appliance/config"
	"github.com/tidewatch/tidewatch/appliance/link"
	"github.com/tidewatch/tidewatch/appliance/logring"
	"github.com/tidewatch/tidewatch/appliance/outbox"
	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/credseal"
	"github.com/tidewatch/tidewatch/sysinfo"
)

// Defaults of [Config].
const (
	// OutboxFileName is the outbox database inside the data directory.
	OutboxFileName = "outbox.db"
	// DefaultOutboxWindow is how many unacknowledged items are in flight at
	// once; the rest wait their turn, oldest first.
	DefaultOutboxWindow = 64
	// DefaultMonitorInterval is used when the master sends no interval.
	DefaultMonitorInterval = 30 * time.Second
	// statusSampleMaxAge is how old a reading the status page reuses before
	// it takes a new one.
	statusSampleMaxAge = 5 * time.Second
)

// Link is what the agent needs of its connection to the master;
// [*link.Link] implements it.
type Link interface {
	// Start begins connecting in the background.
	Start(ctx context.Context) error
	// Shutdown disconnects and stops.
	Shutdown(ctx context.Context) error
	// Send emits a message on the registered connection.
	Send(ctx context.Context, msg protocol.Message) error
	// Status reports the connection state.
	Status() link.Status
}

// type check
var _ Link = (*link.Link)(nil)

// Config configures an [Agent].
type Config struct {
	// App is the appliance configuration in effect; required. The agent
	// keeps a copy. It connects when MasterURL and Token are set.
	App *config.Config
	// Factories start monitors, one per platform; the platforms are the
	// capabilities the appliance registers with. May be empty, but then the
	// master cannot be registered with.
	Factories []crawler.Factory
	// Sampler measures the process tree for heartbeats; nil means one is
	// created for App.DataDir.
	Sampler *sysinfo.Sampler
	// Ring holds the log lines shown on the status page; may be nil.
	Ring *logring.Ring
	// Logger receives the agent's log; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Version is the appliance's version, sent in worker:register.
	Version string
	// Host is the address advertised to the master; empty means the local
	// address of the route to the master.
	Host string
	// SetupPort returns the setup page's port, advertised to the master;
	// nil means the port of App.SetupListen.
	SetupPort func() int
	// OutboxPath is the outbox database; empty means OutboxFileName in
	// App.DataDir.
	OutboxPath string
	// OutboxWindow is how many items are in flight at once; zero means
	// DefaultOutboxWindow.
	OutboxWindow int
	// NewLink builds the link; nil means [link.New]. Tests may wrap it.
	NewLink func(cfg *link.Config) (Link, error)
}

// Agent is the appliance's core. Start it, then Shutdown.
type Agent struct {
	conf      Config
	log       *slog.Logger
	now       func() time.Time
	factories map[string]crawler.Factory
	sampler   *sysinfo.Sampler
	sink      *sink
	handler   *handler

	// linkMu serialises replacing the link (Apply, drain, Shutdown).
	linkMu sync.Mutex

	// opMu serialises changes to the running monitors.
	opMu sync.Mutex

	// mu guards everything below.
	mu       sync.Mutex
	app      *config.Config
	sealKey  []byte
	lnk      Link
	linkErr  string
	accounts map[string]*account
	// pendingCreds are rolled credentials not yet sent to the master, by
	// account id.
	pendingCreds map[string]rolled
	reading      sysinfo.Reading
	readingOK    bool
	draining     bool
	dropped      int
	// gen counts registrations; the sender resends everything on a new one.
	gen uint64
	// logins are the running QR logins' cancel functions, by session id.
	logins map[string]context.CancelFunc

	box *outbox.Outbox
	// startedAt is when Start ran.
	startedAt time.Time
	// runCtx lives from Start to Shutdown; monitors run under it.
	runCtx    context.Context
	runCancel context.CancelFunc
	wake      chan struct{}
	wg        sync.WaitGroup
	done      chan struct{}
	doneOnce  sync.Once
}

// New checks conf and returns an agent; nothing runs until Start.
func New(conf *Config) (*Agent, error) {
	if conf == nil || conf.App == nil {
		return nil, errors.New("agent: nil config")
	}
	c := *conf
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OutboxWindow <= 0 {
		c.OutboxWindow = DefaultOutboxWindow
	}
	if c.NewLink == nil {
		c.NewLink = func(lc *link.Config) (Link, error) { return link.New(lc) }
	}
	if c.OutboxPath == "" {
		c.OutboxPath = filepath.Join(c.App.DataDir, OutboxFileName)
	}
	factories := map[string]crawler.Factory{}
	for _, f := range c.Factories {
		if f == nil {
			return nil, errors.New("agent: nil factory")
		}
		if _, dup := factories[f.Platform()]; dup {
			return nil, fmt.Errorf("agent: two factories for platform %q", f.Platform())
		}
		factories[f.Platform()] = f
	}
	a := &Agent{
		conf:         c,
		log:          c.Logger.With("component", "agent"),
		now:          c.Now,
		factories:    factories,
		sampler:      c.Sampler,
		app:          c.App.Clone(),
		accounts:     map[string]*account{},
		pendingCreds: map[string]rolled{},
		logins:       map[string]context.CancelFunc{},
		wake:         make(chan struct{}, 1),
		done:         make(chan struct{}),
	}
	a.sealKey = credseal.DeriveKey(a.app.Token)
	a.sink = &sink{a: a}
	a.handler = &handler{a: a}
	return a, nil
}

// Capabilities returns the platforms the agent has monitors for, sorted.
func (a *Agent) Capabilities() []string {
	return slices.Sorted(maps.Keys(a.factories))
}

// Start opens the outbox, starts the sender and, when the master and token
// are known, the link.
func (a *Agent) Start(ctx context.Context) error {
	if a.runCtx != nil {
		return errors.New("agent: already started")
	}
	box, err := outbox.Open(ctx, &outbox.Config{Path: a.conf.OutboxPath, Logger: a.conf.Logger})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if a.sampler == nil {
		a.sampler, err = sysinfo.New(ctx, &sysinfo.Config{DataDir: a.app.DataDir, Logger: a.conf.Logger})
		if err != nil {
			_ = box.Close()
			return fmt.Errorf("agent: %w", err)
		}
	}
	a.box = box
	a.startedAt = a.now()
	a.runCtx, a.runCancel = context.WithCancel(context.WithoutCancel(ctx))
	a.wg.Add(1)
	go a.sendLoop(a.runCtx)

	a.linkMu.Lock()
	defer a.linkMu.Unlock()
	a.mu.Lock()
	app := a.app.Clone()
	a.mu.Unlock()
	if app.MasterURL != "" && app.Token != "" {
		if err = a.startLinkLocked(ctx, app); err != nil {
			a.log.ErrorContext(ctx, "not connecting to the master", "err", err)
		}
	}
	return nil
}

// Done is closed when the master asked the appliance to shut down and the
// drain has finished; the program should then call Shutdown and exit with
// ossvc.ExitShutdownRequested.
func (a *Agent) Done() <-chan struct{} { return a.done }

// Shutdown stops the monitors, the link and the sender and closes the
// outbox; unsent items stay in it for the next start.
func (a *Agent) Shutdown(ctx context.Context) error {
	if a.runCtx == nil {
		return nil
	}
	var errs []error
	// The link goes first, so no assignment starts a monitor after the
	// monitors were stopped; what monitors detect while stopping still
	// reaches the outbox.
	a.linkMu.Lock()
	a.mu.Lock()
	lnk := a.lnk
	a.lnk = nil
	a.mu.Unlock()
	if lnk != nil {
		if err := lnk.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	a.linkMu.Unlock()
	a.stopAllMonitors(ctx)
	a.runCancel()
	waited := make(chan struct{})
	go func() {
		a.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("agent: waiting for goroutines: %w", ctx.Err()))
	}
	for _, f := range a.factories {
		if err := f.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("agent: closing %s factory: %w", f.Platform(), err))
		}
	}
	if err := a.box.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// startLinkLocked builds and starts a link for app; a.linkMu is held and
// no link runs.
func (a *Agent) startLinkLocked(ctx context.Context, app *config.Config) error {
	caps := a.Capabilities()
	if len(caps) == 0 {
		a.setLinkErr("no monitor platform is available on this appliance")
		return errors.New("no monitor platform is available, so the master cannot be registered with")
	}
	lnk, err := a.conf.NewLink(&link.Config{
		MasterURL:         app.MasterURL,
		Token:             app.Token,
		Register:          a.registerPayload(ctx, app),
		Handler:           a.handler,
		Logger:            a.conf.Logger,
		Now:               a.now,
		HeartbeatInterval: app.HeartbeatInterval,
		ConnectTimeout:    app.ConnectTimeout,
		ReconnectMin:      app.ReconnectMin,
		ReconnectMax:      app.ReconnectMax,
	})
	if err != nil {
		a.setLinkErr(err.Error())
		return err
	}
	if err = lnk.Start(ctx); err != nil {
		a.setLinkErr(err.Error())
		return err
	}
	a.mu.Lock()
	a.lnk, a.linkErr = lnk, ""
	a.mu.Unlock()
	return nil
}

// setLinkErr records why there is no link.
func (a *Agent) setLinkErr(msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.linkErr = msg
}

// registerPayload is the worker:register of app.
func (a *Agent) registerPayload(ctx context.Context, app *config.Config) protocol.WorkerRegister {
	host := a.conf.Host
	if host == "" {
		host = outboundHost(ctx, app.MasterURL)
	}
	port := 0
	if a.conf.SetupPort != nil {
		port = a.conf.SetupPort()
	} else {
		port = listenPort(app.SetupListen)
	}
	return protocol.WorkerRegister{
		WorkerID:     app.WorkerID,
		Host:         host,
		Port:         port,
		Version:      a.conf.Version,
		Capabilities: a.Capabilities(),
		MaxAccounts:  app.MaxAccounts,
		Name:         app.WorkerName,
	}
}

// currentLink returns the link, or nil.
func (a *Agent) currentLink() Link {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lnk
}

// send emits msg on the current link.
func (a *Agent) send(ctx context.Context, msg protocol.Message) error {
	lnk := a.currentLink()
	if lnk == nil {
		return link.ErrNotConnected
	}
	return lnk.Send(ctx, msg)
}

// workerID returns the worker id in effect.
func (a *Agent) workerID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.app.WorkerID
}

// poke wakes the sender.
func (a *Agent) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// finish closes Done once.
func (a *Agent) finish() {
	a.doneOnce.Do(func() { close(a.done) })
}

// recoverLog logs a panic of a goroutine instead of crashing the appliance.
func (a *Agent) recoverLog(what string) {
	if v := recover(); v != nil {
		a.log.Error("recovered panic", "in", what, "panic", v, "stack", string(debug.Stack()))
	}
}
