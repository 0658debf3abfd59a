// Package testmonitor is a monitor for tests only: it watches no platform
// but a file per account, so an end-to-end test can make the appliance
// "detect" an item exactly when it wants, without a browser.
//
// For account ID the monitor reads <Dir>/<ID>.jsonl. Each line the test
// appends is one JSON object:
//
//	{"message_type":"comment","data":{"id":"c-1","platform_comment_id":"1","content":"hi"}}
//	{"error":{"error_type":"auth_failed","message":"cookie expired","retry_count":1}}
//	{"credentials":"new cookie jar"}
//
// A line with data becomes a detection (message_type defaults to
// "comment"), an "error" line a Sink.Failed, a "credentials" line a
// Sink.CredentialsChanged. Lines are consumed once per process; a test that
// restarts the appliance sees them again, which the master's deduplication
// absorbs. Starting an account writes <Dir>/<ID>.started with its
// credentials' length and interval, so a test can see what it was given;
// stopping it writes <Dir>/<ID>.stopped.
//
// The appliance enables this package only with its --test-monitor flag.
package testmonitor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/protocol"
)

// DefaultTick is how often a monitor looks at its file.
const DefaultTick = 100 * time.Millisecond

// safeID keeps account ids usable as file names.
var safeID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// Config configures a [Factory].
type Config struct {
	// Dir holds the per-account files; required.
	Dir string
	// Platform is the capability offered; empty means "douyin".
	Platform string
	// Tick is how often the files are read; zero means DefaultTick.
	Tick time.Duration
	// Logger may be nil.
	Logger *slog.Logger
}

// Factory starts file-driven monitors.
type Factory struct {
	conf Config
	log  *slog.Logger
}

// type check
var _ crawler.Factory = (*Factory)(nil)

// New returns a factory for conf, creating conf.Dir.
func New(conf *Config) (*Factory, error) {
	if conf == nil || conf.Dir == "" {
		return nil, errors.New("testmonitor: dir is required")
	}
	c := *conf
	if c.Platform == "" {
		c.Platform = protocol.PlatformDouyin
	}
	if c.Tick <= 0 {
		c.Tick = DefaultTick
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("testmonitor: %w", err)
	}
	return &Factory{conf: c, log: c.Logger.With("component", "testmonitor")}, nil
}

// Platform implements crawler.Factory.
func (f *Factory) Platform() string { return f.conf.Platform }

// Close implements crawler.Factory.
func (f *Factory) Close(context.Context) error { return nil }

// Start implements crawler.Factory.
func (f *Factory) Start(ctx context.Context, acc crawler.Account, sink crawler.Sink) (crawler.Monitor, error) {
	if !safeID.MatchString(acc.ID) {
		return nil, fmt.Errorf("testmonitor: account id %q is not a safe file name", acc.ID)
	}
	info := fmt.Sprintf("credentials_len=%d interval=%s\n", len(acc.Credentials), acc.Interval)
	if err := os.Remove(filepath.Join(f.conf.Dir, acc.ID+".stopped")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("testmonitor: %w", err)
	}
	if err := os.WriteFile(filepath.Join(f.conf.Dir, acc.ID+".started"), []byte(info), 0o600); err != nil {
		return nil, fmt.Errorf("testmonitor: %w", err)
	}
	mctx, cancel := context.WithCancel(ctx)
	m := &monitor{
		f: f, acc: acc, sink: sink, cancel: cancel, done: make(chan struct{}),
		path: filepath.Join(f.conf.Dir, acc.ID+".jsonl"),
	}
	go m.run(mctx)
	return m, nil
}

// monitor watches one account's file.
type monitor struct {
	f      *Factory
	acc    crawler.Account
	sink   crawler.Sink
	path   string
	cancel context.CancelFunc
	done   chan struct{}

	// offset is how far the file has been consumed; owned by run.
	offset int64
	// retry holds detections the sink refused, offered again next tick.
	retry []crawler.Detection
	// mu guards creds.
	mu    sync.Mutex
	creds []byte
}

// line is one instruction of the account's file.
type line struct {
	MessageType string                `json:"message_type"`
	Data        *protocol.MessageData `json:"data"`
	Error       *struct {
		ErrorType  string `json:"error_type"`
		Message    string `json:"message"`
		RetryCount int    `json:"retry_count"`
	} `json:"error"`
	Credentials *string `json:"credentials"`
}

// Stop implements crawler.Monitor.
func (m *monitor) Stop(ctx context.Context) error {
	m.cancel()
	select {
	case <-m.done:
		marker := filepath.Join(m.f.conf.Dir, m.acc.ID+".stopped")
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			return fmt.Errorf("testmonitor: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("testmonitor: stopping %s: %w", m.acc.ID, ctx.Err())
	}
}

// UpdateCredentials implements crawler.Monitor.
func (m *monitor) UpdateCredentials(credentials []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creds = bytes.Clone(credentials)
}

// run polls the file until ctx ends; it is run as a goroutine.
func (m *monitor) run(ctx context.Context) {
	defer close(m.done)
	defer func() {
		if v := recover(); v != nil {
			m.f.log.Error("monitor panicked", "account_id", m.acc.ID, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	t := time.NewTicker(m.f.conf.Tick)
	defer t.Stop()
	for {
		m.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll consumes the new complete lines of the file.
func (m *monitor) poll(ctx context.Context) {
	start := time.Now()
	items := m.retry
	m.retry = nil
	lines, err := m.readNew()
	if err != nil {
		m.sink.Polled(m.acc.ID, crawler.PollResult{At: start, Duration: time.Since(start), Err: err,
			ErrorType: protocol.ErrorTypeNetworkError})
		return
	}
	for _, l := range lines {
		switch {
		case l.Error != nil:
			m.sink.Failed(ctx, m.acc.ID, l.Error.ErrorType, l.Error.Message, l.Error.RetryCount)
		case l.Credentials != nil:
			m.UpdateCredentials([]byte(*l.Credentials))
			m.sink.CredentialsChanged(ctx, m.acc.ID, []byte(*l.Credentials), time.Time{})
		case l.Data != nil:
			typ := l.MessageType
			if typ == "" {
				typ = protocol.MessageTypeComment
			}
			d := *l.Data
			if d.CreatedAt == 0 {
				d.CreatedAt = protocol.TimestampOf(start)
			}
			items = append(items, crawler.Detection{MessageType: typ, Data: d})
		}
	}
	if len(items) > 0 {
		if err = m.sink.Detected(ctx, m.acc.ID, items); err != nil {
			m.retry = items
			m.f.log.Warn("sink refused detections; offering them again", "account_id", m.acc.ID, "err", err)
		}
	}
	if len(lines) > 0 || len(items) > 0 {
		m.sink.Polled(m.acc.ID, crawler.PollResult{At: start, Found: len(items), Duration: time.Since(start)})
	}
}

// readNew returns the complete lines appended since the last call.
func (m *monitor) readNew() ([]line, error) {
	f, err := os.Open(m.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", filepath.Base(m.path), err)
	}
	defer func() { _ = f.Close() }()
	if _, err = f.Seek(m.offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seeking: %w", err)
	}
	var out []line
	r := bufio.NewReader(f)
	for {
		b, err := r.ReadBytes('\n')
		if err != nil {
			// An incomplete last line waits for its newline.
			break
		}
		m.offset += int64(len(b))
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			m.f.log.Warn("ignoring bad line", "account_id", m.acc.ID, "offset", strconv.FormatInt(m.offset, 10), "err", err)
			continue
		}
		out = append(out, l)
	}
	return out, nil
}
