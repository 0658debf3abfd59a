// Package browser runs the one headless Chromium an appliance shares among
// all its monitors. Chromium starts lazily on the first tab, each tab lives
// in its own incognito browser context, one navigation runs at a time, and
// a crash, a hang, a memory ceiling or old age restarts the browser; the
// tabs of the old browser end with an error that says which.
package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// Errors a tab ends with, and errors of NewTab.
var (
	// ErrClosed means the Browser was shut down.
	ErrClosed = errors.New("browser closed")
	// ErrNotStarted means Start was not called.
	ErrNotStarted = errors.New("browser not started")
	// ErrCrashed means the browser process died or hung; the next tab
	// starts a new one.
	ErrCrashed = errors.New("browser crashed")
	// ErrRestarted means the browser was restarted on purpose (memory
	// ceiling or age); the next tab starts a new one.
	ErrRestarted = errors.New("browser restarted")
	// ErrTabClosed means the tab was closed by its owner.
	ErrTabClosed = errors.New("tab closed")
)

// Stats describes the browser's life so far.
type Stats struct {
	// Running is true while a Chromium process is up.
	Running bool
	// PID is the main Chromium process, 0 when none runs.
	PID int
	// StartedAt is when the running Chromium started.
	StartedAt time.Time
	// Starts counts Chromium starts, Crashes the crashes and hangs among
	// their ends, PlannedRestarts the restarts for memory or age.
	Starts, Crashes, PlannedRestarts int
	// Tabs is the number of open tabs.
	Tabs int
}

// Usage is the resource use of the Chromium process tree.
type Usage struct {
	// PSSBytes is the summed proportional set size: shared pages are
	// divided among the processes that map them, so the sum counts each
	// page once.
	PSSBytes int64
	// CPU is the user plus system time the live processes have used.
	CPU time.Duration
	// Processes is how many processes the tree has.
	Processes int
}

// Browser is the shared Chromium. Its methods are safe for concurrent use.
type Browser struct {
	cfg        Config
	log        *slog.Logger
	execPath   string
	profileDir string

	// nav is the navigation semaphore: one navigation at a time.
	nav chan struct{}
	// startMu serialises starts of Chromium.
	startMu sync.Mutex

	// mu guards the fields below.
	mu          sync.Mutex
	started     bool
	closed      bool
	inst        *instance
	stats       Stats
	crashStreak int
	lastCrash   time.Time
	runCtx      context.Context
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

// instance is one Chromium process and its root chromedp context.
type instance struct {
	ctx         context.Context
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
	pid         int
	startedAt   time.Time
	// done is closed once the instance ended and reason is set.
	done chan struct{}
	// closeOnce guards the graceful close: chromedp panics when a browser
	// context is cancelled twice, and a restart and a shutdown may both
	// stop the same instance.
	closeOnce sync.Once

	// mu guards reason, which is set by whoever ends the instance on
	// purpose, or by the watcher when it died by itself.
	mu     sync.Mutex
	reason error
}

// setReason records why the instance ends unless a reason is already
// there, and reports whether it was set.
func (in *instance) setReason(err error) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.reason != nil {
		return false
	}
	in.reason = err
	return true
}

// getReason returns the recorded reason.
func (in *instance) getReason() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.reason
}

// New returns a Browser for cfg. It finds the Chromium binary now, so a
// missing browser is reported at start-up; Chromium itself starts with the
// first tab.
func New(cfg *Config) (*Browser, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	c := cfg.withDefaults()
	if c.DataDir == "" {
		return nil, errors.New("browser: data dir is required")
	}
	path, err := FindExecPath(c.ExecPath)
	if err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	dataDir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return nil, fmt.Errorf("browser: data dir: %w", err)
	}
	return &Browser{
		cfg:        c,
		log:        c.Logger.With("component", "browser"),
		execPath:   path,
		profileDir: filepath.Join(dataDir, DefaultProfileDirName),
		nav:        make(chan struct{}, 1),
	}, nil
}

// ExecPath is the Chromium binary in use.
func (b *Browser) ExecPath() string { return b.execPath }

// ProfileDir is Chromium's user-data-dir.
func (b *Browser) ProfileDir() string { return b.profileDir }

// Start cleans the profile left by an earlier run and starts the
// supervisor (hang pings, memory ceiling, age). Chromium starts with the
// first tab. Everything ends with ctx or Shutdown.
func (b *Browser) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.started {
		return nil
	}
	if err := b.cleanProfile(); err != nil {
		return err
	}
	b.runCtx, b.cancel = context.WithCancel(ctx)
	b.started = true
	b.wg.Add(1)
	go b.supervise(b.runCtx)
	return nil
}

// cleanProfile kills what a killed parent left running on the profile and
// empties it.
func (b *Browser) cleanProfile() error {
	if n := killProfileProcesses(b.profileDir); n > 0 {
		b.log.Warn("killed leftover chromium processes", "count", n)
	}
	if err := os.RemoveAll(b.profileDir); err != nil {
		return fmt.Errorf("cleaning browser profile: %w", err)
	}
	if err := os.MkdirAll(b.profileDir, 0o700); err != nil {
		return fmt.Errorf("creating browser profile: %w", err)
	}
	return nil
}

// Shutdown closes every tab and the browser and waits for the supervisor.
func (b *Browser) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	inst := b.inst
	cancel := b.cancel
	b.mu.Unlock()
	var err error
	if inst != nil {
		err = b.stop(ctx, inst, ErrClosed)
	}
	if cancel != nil {
		cancel()
	}
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("waiting for browser goroutines: %w", ctx.Err()))
	}
	killProfileProcesses(b.profileDir)
	if rerr := os.RemoveAll(b.profileDir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("removing browser profile: %w", rerr))
	}
	return err
}

// Stats returns the browser's life figures.
func (b *Browser) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	if b.inst != nil {
		select {
		case <-b.inst.done:
		default:
			s.Running = true
			s.PID = b.inst.pid
			s.StartedAt = b.inst.startedAt
		}
	}
	return s
}

// Usage measures the Chromium process tree now. It is zero when no
// Chromium runs or the OS does not expose the figures.
func (b *Browser) Usage() Usage {
	var u Usage
	for _, pid := range profileProcesses(b.profileDir) {
		pss, cpu, ok := processUsage(pid)
		if !ok {
			continue
		}
		u.PSSBytes += pss
		u.CPU += cpu
		u.Processes++
	}
	return u
}

// AcquireNavigation waits for the navigation slot; call release when the
// navigation and the reading of its responses are done.
func (b *Browser) AcquireNavigation(ctx context.Context) (release func(), err error) {
	select {
	case b.nav <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-b.nav }) }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the navigation slot: %w", ctx.Err())
	}
}

// Tab is one page target in its own incognito browser context.
type Tab struct {
	b      *Browser
	inst   *instance
	ctx    context.Context
	cancel context.CancelFunc

	closeOnce sync.Once
	// closed is set by Close before the context ends.
	mu     sync.Mutex
	closed bool
}

// NewTab opens a tab in a new incognito browser context, starting Chromium
// first when none runs.
func (b *Browser) NewTab(ctx context.Context) (*Tab, error) {
	inst, err := b.ensure(ctx)
	if err != nil {
		return nil, err
	}
	tctx, tcancel := chromedp.NewContext(inst.ctx, chromedp.WithNewBrowserContext())
	errc := make(chan error, 1)
	go func() { errc <- chromedp.Do(tctx) }()
	timer := time.NewTimer(b.cfg.TabTimeout)
	defer timer.Stop()
	select {
	case err = <-errc:
	case <-timer.C:
		err = errors.New("timed out")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		go tcancel()
		if r := inst.getReason(); r != nil {
			err = fmt.Errorf("%w: %w", r, err)
		}
		return nil, fmt.Errorf("opening tab: %w", err)
	}
	b.mu.Lock()
	b.stats.Tabs++
	b.mu.Unlock()
	return &Tab{b: b, inst: inst, ctx: tctx, cancel: tcancel}, nil
}

// Context is the tab's chromedp context, for actions and protocol calls.
// It ends when the tab closes or its browser ends.
func (t *Tab) Context() context.Context { return t.ctx }

// Done is closed when the tab closes or its browser ends.
func (t *Tab) Done() <-chan struct{} { return t.ctx.Done() }

// Err is nil while the tab is open. After, it is ErrTabClosed, or the
// reason its browser ended (wrapping ErrCrashed, ErrRestarted or
// ErrClosed). It waits briefly for that reason to be known.
func (t *Tab) Err() error {
	if t.ctx.Err() == nil {
		return nil
	}
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return ErrTabClosed
	}
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	select {
	case <-t.inst.done:
		return t.inst.getReason()
	case <-timer.C:
		if r := t.inst.getReason(); r != nil {
			return r
		}
		return ErrTabClosed
	}
}

// Close closes the tab and disposes of its browser context.
func (t *Tab) Close() {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		// Closing waits for Chromium to answer; a dead browser answers at
		// once with an error, a hung one is bounded by chromedp.
		t.cancel()
		t.b.mu.Lock()
		t.b.stats.Tabs--
		t.b.mu.Unlock()
	})
}

// current returns the running instance, or nil.
func (b *Browser) current() *instance {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inst == nil {
		return nil
	}
	select {
	case <-b.inst.done:
		return nil
	default:
		return b.inst
	}
}

// ensure returns the running instance, starting one if none runs.
func (b *Browser) ensure(ctx context.Context) (*instance, error) {
	b.startMu.Lock()
	defer b.startMu.Unlock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	if !b.started {
		b.mu.Unlock()
		return nil, ErrNotStarted
	}
	inst := b.inst
	delay := b.restartDelayLocked()
	runCtx := b.runCtx
	b.mu.Unlock()
	if inst != nil {
		if inst.ctx.Err() == nil {
			return inst, nil
		}
		// It is ending: wait until its leftovers are gone.
		select {
		case <-inst.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if delay > 0 {
		b.log.Info("waiting before restarting chromium", "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	return b.launch(ctx, runCtx)
}

// restartDelayLocked is the pause before a start after crashes in a row.
func (b *Browser) restartDelayLocked() time.Duration {
	if b.crashStreak == 0 || time.Since(b.lastCrash) > 2*b.cfg.MaxRestartDelay {
		return 0
	}
	d := b.cfg.RestartDelay << min(b.crashStreak-1, 16)
	d = min(d, b.cfg.MaxRestartDelay)
	return d - time.Since(b.lastCrash)
}

// allocatorOptions builds Chromium's command line.
func (b *Browser) allocatorOptions() []chromedp.ExecAllocatorOption {
	type flag struct {
		name  string
		value any
	}
	flags := []flag{
		{"headless", "new"},
		{"disable-gpu", true},
		{"disable-dev-shm-usage", true},
		{"disable-extensions", true},
		{"mute-audio", true},
		{"hide-scrollbars", true},
		{"no-first-run", true},
		{"no-default-browser-check", true},
		{"disable-background-networking", true},
		{"disable-component-update", true},
		{"disable-sync", true},
		{"disable-default-apps", true},
		{"disable-breakpad", true},
		{"metrics-recording-only", true},
		{"password-store", "basic"},
		{"use-mock-keychain", true},
		{"blink-settings", "imagesEnabled=false"},
		{"disable-blink-features", "AutomationControlled"},
		// Every tab sits in a window of its own that nobody looks at; the
		// pages' timers must keep their pace all the same.
		{"disable-background-timer-throttling", true},
		{"disable-renderer-backgrounding", true},
		{"disable-backgrounding-occluded-windows", true},
	}
	if len(b.cfg.DisableFeatures) > 0 {
		flags = append(flags, flag{"disable-features", strings.Join(b.cfg.DisableFeatures, ",")})
	}
	if b.cfg.NoSandbox || os.Geteuid() == 0 {
		flags = append(flags, flag{"no-sandbox", true})
	}
	seen := map[string]int{}
	for i, f := range flags {
		seen[f.name] = i
	}
	for name, v := range b.cfg.ExtraFlags {
		if i, ok := seen[name]; ok {
			flags[i].value = v
			continue
		}
		flags = append(flags, flag{name, v})
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(b.execPath),
		chromedp.UserDataDir(b.profileDir),
		chromedp.UserAgent(b.cfg.UserAgent),
		chromedp.CombinedOutput(&logWriter{log: b.log}),
	}
	for _, f := range flags {
		switch f.value.(type) {
		case string, bool:
			opts = append(opts, chromedp.Flag(f.name, f.value))
		default:
			opts = append(opts, chromedp.Flag(f.name, fmt.Sprint(f.value)))
		}
	}
	return opts
}

// launch starts a Chromium and its watcher.
func (b *Browser) launch(ctx, runCtx context.Context) (*instance, error) {
	if err := b.cleanProfile(); err != nil {
		return nil, err
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(runCtx, b.allocatorOptions()...)
	logf := func(format string, args ...any) { b.log.Debug(fmt.Sprintf(format, args...)) }
	bctx, bcancel := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(logf), chromedp.WithErrorf(logf), chromedp.WithDebugf(func(string, ...any) {}))
	// The first action binds the browser's life to bctx, so it gets bctx
	// itself; the timeout is enforced from outside.
	errc := make(chan error, 1)
	go func() { errc <- chromedp.Do(bctx) }()
	timer := time.NewTimer(b.cfg.StartTimeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-errc:
	case <-timer.C:
		err = errors.New("timed out")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		bcancel()
		allocCancel()
		killProfileProcesses(b.profileDir)
		b.mu.Lock()
		b.crashStreak++
		b.lastCrash = time.Now()
		b.mu.Unlock()
		return nil, fmt.Errorf("starting chromium: %w", err)
	}
	inst := &instance{
		ctx:         bctx,
		cancel:      bcancel,
		allocCancel: allocCancel,
		startedAt:   time.Now(),
		done:        make(chan struct{}),
	}
	if c := chromedp.FromContext(bctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		inst.pid = c.Browser.Process().Pid
	}
	b.mu.Lock()
	b.inst = inst
	b.stats.Starts++
	b.mu.Unlock()
	b.log.Info("chromium started", "pid", inst.pid, "path", b.execPath)
	b.wg.Add(1)
	go b.watch(inst)
	return inst, nil
}

// watch waits for inst to end, classifies the end, and cleans up after it.
func (b *Browser) watch(inst *instance) {
	defer b.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("browser watcher panicked", "panic", p)
		}
	}()
	<-inst.ctx.Done()
	crashed := inst.setReason(ErrCrashed)
	inst.cancel()
	inst.allocCancel()
	killProfileProcesses(b.profileDir)
	b.mu.Lock()
	if b.inst == inst {
		b.inst = nil
	}
	if crashed || errors.Is(inst.getReason(), ErrCrashed) {
		b.stats.Crashes++
		b.crashStreak++
		b.lastCrash = time.Now()
	}
	b.mu.Unlock()
	if errors.Is(inst.getReason(), ErrCrashed) {
		b.log.Warn("chromium ended unexpectedly", "pid", inst.pid, "reason", inst.getReason())
	} else {
		b.log.Info("chromium stopped", "pid", inst.pid, "reason", inst.getReason())
	}
	close(inst.done)
}

// stop ends inst for reason: gracefully when it answers, killed when not.
func (b *Browser) stop(ctx context.Context, inst *instance, reason error) error {
	inst.setReason(reason)
	tctx, cancel := context.WithTimeout(ctx, DefaultShutdownTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		var err error
		inst.closeOnce.Do(func() { err = chromedp.Cancel(inst.ctx) })
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-tctx.Done():
		err = fmt.Errorf("closing chromium: %w", tctx.Err())
		if inst.pid > 0 {
			_ = syscall.Kill(inst.pid, syscall.SIGKILL)
		}
		inst.cancel()
	}
	select {
	case <-inst.done:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// supervise pings the browser to detect hangs and restarts it at a quiet
// moment when it grows too big or too old.
func (b *Browser) supervise(ctx context.Context) {
	defer b.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("browser supervisor panicked", "panic", p)
		}
	}()
	var health, memory <-chan time.Time
	if b.cfg.HealthInterval > 0 {
		t := time.NewTicker(b.cfg.HealthInterval)
		defer t.Stop()
		health = t.C
	}
	if b.cfg.MemoryLimitMB > 0 || b.cfg.MaxAge > 0 {
		t := time.NewTicker(b.cfg.MemoryCheckInterval)
		defer t.Stop()
		memory = t.C
	}
	failures := 0
	var pinged *instance
	for {
		select {
		case <-ctx.Done():
			return
		case <-health:
			inst := b.current()
			if inst == nil {
				continue
			}
			if inst != pinged {
				pinged, failures = inst, 0
			}
			if err := b.ping(ctx, inst); err != nil {
				if inst.ctx.Err() != nil || ctx.Err() != nil {
					continue
				}
				failures++
				b.log.Warn("chromium did not answer", "failures", failures, "err", err)
				if failures >= b.cfg.HangThreshold {
					b.kill(inst, fmt.Errorf("%w: hung (%d pings unanswered)", ErrCrashed, failures))
				}
				continue
			}
			failures = 0
			b.mu.Lock()
			if time.Since(inst.startedAt) > b.cfg.MaxRestartDelay {
				b.crashStreak = 0
			}
			b.mu.Unlock()
		case <-memory:
			inst := b.current()
			if inst == nil {
				continue
			}
			if b.cfg.MaxAge > 0 && time.Since(inst.startedAt) > b.cfg.MaxAge {
				b.restartQuietly(ctx, inst, fmt.Sprintf("running for %s", time.Since(inst.startedAt).Round(time.Second)))
				continue
			}
			if b.cfg.MemoryLimitMB > 0 {
				u := b.Usage()
				if mb := u.PSSBytes >> 20; mb > int64(b.cfg.MemoryLimitMB) {
					b.restartQuietly(ctx, inst, fmt.Sprintf("PSS %d MB above the %d MB ceiling", mb, b.cfg.MemoryLimitMB))
				}
			}
		}
	}
}

// ping asks the browser for its version within HealthTimeout.
func (b *Browser) ping(ctx context.Context, inst *instance) error {
	pctx, cancel := context.WithTimeout(inst.ctx, b.cfg.HealthTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	_, err := chromedp.CallBrowser(pctx, cdpbrowser.GetVersion, cdp.Empty{})
	return err
}

// kill ends a hung instance at once.
func (b *Browser) kill(inst *instance, reason error) {
	inst.setReason(reason)
	if inst.pid > 0 {
		_ = syscall.Kill(inst.pid, syscall.SIGKILL)
	}
	killProfileProcesses(b.profileDir)
	inst.cancel()
}

// restartQuietly stops inst once no navigation runs, so no poll is cut
// short; the next tab starts a fresh browser.
func (b *Browser) restartQuietly(ctx context.Context, inst *instance, why string) {
	release, err := b.AcquireNavigation(ctx)
	if err != nil {
		return
	}
	defer release()
	if inst.ctx.Err() != nil {
		return
	}
	b.log.Info("restarting chromium", "why", why)
	b.mu.Lock()
	b.stats.PlannedRestarts++
	b.mu.Unlock()
	if err := b.stop(ctx, inst, fmt.Errorf("%w: %s", ErrRestarted, why)); err != nil {
		b.log.Warn("stopping chromium for a restart", "err", err)
	}
}

// logWriter turns Chromium's output into debug logs.
type logWriter struct {
	log *slog.Logger
}

// Write logs p, one record per write.
func (w *logWriter) Write(p []byte) (int, error) {
	if s := strings.TrimSpace(string(p)); s != "" {
		w.log.Debug("chromium output", "text", s)
	}
	return len(p), nil
}
