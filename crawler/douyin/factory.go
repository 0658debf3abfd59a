// Package douyin watches Douyin creator accounts for new comments and
// direct messages through the shared headless browser. Each account gets
// its own incognito browser context and one tab on the logged-in home
// page: every cycle reloads it and reads the page's own notice-feed
// responses through the DevTools protocol (the adapter never calls
// Douyin's APIs itself), and a probe injected into the page hands new
// messages of the page's IM store to Go through a binding.
package douyin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/crawler/browser"
	"github.com/tidewatch/tidewatch/protocol"
)

// Factory starts Douyin monitors that share one browser and one seen-ids
// store. It implements crawler.Factory.
type Factory struct {
	cfg     Config
	log     *slog.Logger
	browser *browser.Browser
	seen    *seenStore

	// ctx bounds the browser and the housekeeping; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	started  bool
	monitors map[string]*monitor
	wg       sync.WaitGroup
}

// Compile-time check that Factory is a crawler.Factory.
var _ crawler.Factory = (*Factory)(nil)

// NewFactory opens the seen-ids store and prepares the browser (finding
// its binary now, starting it with the first monitor).
func NewFactory(cfg *Config) (*Factory, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("douyin: creating data dir: %w", err)
	}
	bcfg := browser.Config{}
	if c.Browser != nil {
		bcfg = *c.Browser
	}
	if bcfg.DataDir == "" {
		bcfg.DataDir = c.DataDir
	}
	if bcfg.Logger == nil {
		bcfg.Logger = c.Logger
	}
	b, err := browser.New(&bcfg)
	if err != nil {
		return nil, fmt.Errorf("douyin: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	seen, err := openSeen(ctx, filepath.Join(c.DataDir, DefaultSeenFile))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("douyin: %w", err)
	}
	return &Factory{
		cfg:      c,
		log:      c.Logger.With("component", "douyin"),
		browser:  b,
		seen:     seen,
		ctx:      ctx,
		cancel:   cancel,
		monitors: map[string]*monitor{},
	}, nil
}

// Platform returns "douyin".
func (f *Factory) Platform() string { return protocol.PlatformDouyin }

// Browser is the shared browser, for its memory figures.
func (f *Factory) Browser() *browser.Browser { return f.browser }

// Start begins watching acc. The monitor runs until Stop, until ctx ends
// or until the factory closes.
func (f *Factory) Start(ctx context.Context, acc crawler.Account, sink crawler.Sink) (crawler.Monitor, error) {
	if acc.ID == "" {
		return nil, errors.New("douyin: account id is empty")
	}
	if sink == nil {
		return nil, errors.New("douyin: sink is nil")
	}
	creds, err := ParseCredentials(acc.Credentials)
	if err != nil {
		return nil, fmt.Errorf("douyin: account %s: %w", acc.ID, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errors.New("douyin: factory closed")
	}
	if old, ok := f.monitors[acc.ID]; ok && !old.stopped() {
		return nil, fmt.Errorf("douyin: account %s is monitored already", acc.ID)
	}
	if err := f.startBrowserLocked(); err != nil {
		return nil, err
	}
	m := newMonitor(f, acc, creds, sink)
	f.monitors[acc.ID] = m
	mctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(f.ctx, cancel)
	m.cancel = func() {
		stop()
		cancel()
	}
	go m.run(mctx)
	return m, nil
}

// startBrowserLocked starts the shared browser and the housekeeping on
// first use. f.mu is held.
func (f *Factory) startBrowserLocked() error {
	if f.started {
		return nil
	}
	if err := f.browser.Start(f.ctx); err != nil {
		return fmt.Errorf("douyin: %w", err)
	}
	f.started = true
	f.wg.Add(1)
	go f.housekeep()
	return nil
}

// Close stops every monitor, then the browser, and closes the store.
func (f *Factory) Close(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	ms := make([]*monitor, 0, len(f.monitors))
	for _, m := range f.monitors {
		ms = append(ms, m)
	}
	f.mu.Unlock()
	var errs []error
	for _, m := range ms {
		if err := m.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	f.cancel()
	if err := f.browser.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	f.wg.Wait()
	if err := f.seen.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// forget drops a stopped monitor from the registry.
func (f *Factory) forget(m *monitor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.monitors[m.acc.ID] == m {
		delete(f.monitors, m.acc.ID)
	}
}

// housekeep prunes old seen ids once a day.
func (f *Factory) housekeep() {
	defer f.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			f.log.Error("housekeeping panicked", "panic", p)
		}
	}()
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		if n, err := f.seen.prune(f.ctx, f.cfg.Now().Add(-f.cfg.SeenRetention)); err != nil {
			if f.ctx.Err() == nil {
				f.log.Warn("pruning seen ids", "err", err)
			}
		} else if n > 0 {
			f.log.Info("pruned seen ids", "count", n)
		}
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
	}
}
