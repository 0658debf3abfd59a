package douyin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/crawler/browser"
	"github.com/tidewatch/tidewatch/crawler/fakedouyin"
)

// failure is one Sink.Failed call.
type failure struct {
	typ, msg string
	retry    int
	at       time.Time
}

// credChange is one Sink.CredentialsChanged call.
type credChange struct {
	blob    []byte
	expires time.Time
}

// recSink records what monitors report.
type recSink struct {
	mu       sync.Mutex
	dets     []crawler.Detection
	detAt    []time.Time
	failures []failure
	creds    []credChange
	polls    []crawler.PollResult
	// refuse makes that many Detected calls fail.
	refuse atomic.Int32
	// refused counts the refused calls.
	refused atomic.Int32
}

func (s *recSink) Detected(_ context.Context, _ string, items []crawler.Detection) error {
	if s.refuse.Load() > 0 {
		s.refuse.Add(-1)
		s.refused.Add(1)
		return errors.New("outbox full")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		s.dets = append(s.dets, it)
		s.detAt = append(s.detAt, time.Now())
	}
	return nil
}

func (s *recSink) Failed(_ context.Context, _ string, typ, msg string, retry int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{typ, msg, retry, time.Now()})
}

func (s *recSink) CredentialsChanged(_ context.Context, _ string, blob []byte, exp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = append(s.creds, credChange{blob, exp})
}

func (s *recSink) Polled(_ string, r crawler.PollResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls = append(s.polls, r)
}

// detections returns the detections so far, keyed by Data.ID, and their
// number.
func (s *recSink) detections() (map[string]crawler.Detection, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]crawler.Detection{}
	for _, d := range s.dets {
		out[d.Data.ID] = d
	}
	return out, len(s.dets)
}

// failuresOf returns the failures of a type.
func (s *recSink) failuresOf(typ string) []failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []failure
	for _, f := range s.failures {
		if f.typ == typ {
			out = append(out, f)
		}
	}
	return out
}

// pollCount returns the number of polls and of successful ones.
func (s *recSink) pollCount() (all, ok int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.polls {
		if p.Err == nil {
			ok++
		}
	}
	return len(s.polls), ok
}

// lastCreds returns the last credentials handed over.
func (s *recSink) lastCreds() (credChange, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.creds) == 0 {
		return credChange{}, 0
	}
	return s.creds[len(s.creds)-1], len(s.creds)
}

// clock is a settable offset from the real time, for the fake's clock.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *clock) set(d time.Duration) { c.offset.Store(int64(d)) }

// requireChromium skips when no Chromium is installed.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := browser.FindExecPath(""); err != nil {
		t.Skip("no chromium installed")
	}
}

// testLogger logs to the test output when TIDEWATCH_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("TIDEWATCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startFake starts the fake Douyin with a settable clock.
func startFake(t *testing.T) (*fakedouyin.Server, *clock) {
	t.Helper()
	clk := &clock{}
	s, err := fakedouyin.New(&fakedouyin.Config{
		Listen: "127.0.0.1:0", IMPollInterval: 150 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler), Now: clk.now,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, s.Start(ctx))
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		assert.NoError(t, s.Shutdown(sctx))
		cancel()
	})
	return s, clk
}

// testConfig is a fast configuration against the fake.
func testConfig(fake *fakedouyin.Server, dataDir string) *Config {
	return &Config{
		DataDir:             dataDir,
		WWWOrigin:           fake.URL(),
		CreatorOrigin:       fake.URL(),
		DefaultInterval:     time.Second,
		BackoffBase:         400 * time.Millisecond,
		BackoffMax:          1600 * time.Millisecond,
		NavigationTimeout:   10 * time.Second,
		NoticeTimeout:       5 * time.Second,
		CredentialsInterval: -1,
		ProbeInterval:       100 * time.Millisecond,
		Logger:              testLogger(),
		Browser: &browser.Config{
			HealthInterval: -1, RestartDelay: 50 * time.Millisecond,
		},
	}
}

// newFactory makes a factory and closes it at cleanup (closing twice is
// harmless).
func newFactory(t *testing.T, cfg *Config) *Factory {
	t.Helper()
	requireChromium(t)
	f, err := NewFactory(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { closeFactory(t, f) })
	return f
}

// closeFactory closes f within a bound.
func closeFactory(t *testing.T, f *Factory) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	assert.NoError(t, f.Close(ctx))
}

// newAccount creates a fake account and the crawler account for it.
func newAccount(t *testing.T, fake *fakedouyin.Server) (fakedouyin.AccountInfo, crawler.Account) {
	t.Helper()
	info, err := fake.CreateAccount(fakedouyin.AccountSpec{
		Nickname: "创作者", Videos: []fakedouyin.Video{{Desc: "第一条视频"}, {Desc: "第二条视频"}},
	})
	require.NoError(t, err)
	creds, err := json.Marshal(info.Credentials)
	require.NoError(t, err)
	return info, crawler.Account{
		ID: "acc-" + info.UID, Platform: "douyin", PlatformAccountID: info.UID, Name: info.Nickname,
		Credentials: creds, Interval: time.Second, AssignedAt: time.Now(),
	}
}

// startMonitor starts a monitor and stops it at cleanup.
func startMonitor(t *testing.T, f *Factory, acc crawler.Account, sink crawler.Sink) crawler.Monitor {
	t.Helper()
	m, err := f.Start(context.Background(), acc, sink)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		assert.NoError(t, m.Stop(ctx))
	})
	return m
}

// eventually waits for cond.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, 50*time.Millisecond, msg)
}

// waitPolls waits until n more successful polls happened.
func waitPolls(t *testing.T, s *recSink, n int) {
	t.Helper()
	_, start := s.pollCount()
	eventually(t, func() bool { _, ok := s.pollCount(); return ok >= start+n }, "successful polls")
}
