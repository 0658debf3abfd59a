package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/appliance/config"
	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/internal/testmaster"
	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
)

// waitFor bounds every wait for something asynchronous.
const waitFor = 10 * time.Second

// tick is the polling step of require.Eventually.
const tick = 20 * time.Millisecond

// testMaster is a real master with the agent tests' own helpers.
type testMaster struct{ *testmaster.Master }

// startMaster starts a master on addr ("127.0.0.1:0": any port) over dir,
// with timings short enough to see assignments acked and workers go.
func startMaster(t *testing.T, dir, addr string) *testMaster {
	t.Helper()
	hc := testmaster.QuickHub()
	hc.AssignAckTimeout = 3 * time.Second
	return &testMaster{testmaster.Start(t, &testmaster.Config{DataDir: dir, Listen: addr, Hub: hc})}
}

// account creates an active douyin account with credentials and places it.
func (m *testMaster) account(t *testing.T, platformID, creds string) store.Account {
	t.Helper()
	a := m.Account(t, store.Account{
		Platform: protocol.PlatformDouyin, PlatformAccountID: platformID, Name: "acct " + platformID,
		MonitorInterval: 30, Status: protocol.AccountStatusActive,
	}, []byte(creds))
	m.Place(t, a.ID)
	return a
}

// workerOf returns the worker an account is assigned to.
func (m *testMaster) workerOf(t *testing.T, accountID string) string {
	t.Helper()
	a, err := m.Server.Store.GetAccount(context.Background(), accountID)
	require.NoError(t, err)
	return a.WorkerID
}

// notifications returns the related ids of every notification, oldest first.
func (m *testMaster) notifications(t *testing.T) []string {
	t.Helper()
	ns, _, err := m.Server.Store.ListNotifications(context.Background(), store.Viewer{Admin: true}, store.NotificationFilter{Limit: 500})
	require.NoError(t, err)
	slices.SortFunc(ns, func(a, b store.Notification) int { return int(a.Seq - b.Seq) })
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.RelatedID
	}
	return out
}

// fakeFactory is an in-test crawler.Factory recording what it is asked.
type fakeFactory struct {
	mu       sync.Mutex
	monitors map[string]*fakeMonitor
	starts   []string
	failWith error
}

// type check
var _ crawler.Factory = (*fakeFactory)(nil)

// Platform implements crawler.Factory.
func (f *fakeFactory) Platform() string { return protocol.PlatformDouyin }

// Close implements crawler.Factory.
func (f *fakeFactory) Close(context.Context) error { return nil }

// Start implements crawler.Factory.
func (f *fakeFactory) Start(_ context.Context, acc crawler.Account, sink crawler.Sink) (crawler.Monitor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	if f.monitors == nil {
		f.monitors = map[string]*fakeMonitor{}
	}
	m := &fakeMonitor{acc: acc, sink: sink, creds: bytes.Clone(acc.Credentials)}
	f.monitors[acc.ID] = m
	f.starts = append(f.starts, acc.ID)
	return m, nil
}

// monitor returns the latest monitor of an account, or nil.
func (f *fakeFactory) monitor(id string) *fakeMonitor {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.monitors[id]
}

// running reports whether an account's latest monitor runs.
func (f *fakeFactory) running(id string) bool {
	m := f.monitor(id)
	return m != nil && !m.isStopped()
}

// startCount returns how often an account was started.
func (f *fakeFactory) startCount(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.starts {
		if s == id {
			n++
		}
	}
	return n
}

// fakeMonitor is one in-test monitor; tests drive its sink.
type fakeMonitor struct {
	acc  crawler.Account
	sink crawler.Sink

	mu      sync.Mutex
	stopped bool
	creds   []byte
}

// Stop implements crawler.Monitor.
func (m *fakeMonitor) Stop(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	return nil
}

// UpdateCredentials implements crawler.Monitor.
func (m *fakeMonitor) UpdateCredentials(c []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creds = bytes.Clone(c)
}

// isStopped reports whether Stop was called.
func (m *fakeMonitor) isStopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopped
}

// credentials returns the credentials the monitor holds.
func (m *fakeMonitor) credentials() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return string(m.creds)
}

// detect hands items to the agent as the monitor would.
func (m *fakeMonitor) detect(t *testing.T, ids ...string) {
	t.Helper()
	items := make([]crawler.Detection, len(ids))
	for i, id := range ids {
		items[i] = crawler.Detection{MessageType: protocol.MessageTypeComment, Data: protocol.MessageData{
			ID: id, PlatformCommentID: protocol.ID("p-" + id), Content: "comment " + id, AuthorName: "someone",
			CreatedAt: protocol.TimestampOf(time.Now()),
		}}
	}
	require.NoError(t, m.sink.Detected(context.Background(), m.acc.ID, items))
}

// appConfig returns an appliance configuration with short durations.
func appConfig(t testing.TB, masterURL, token, workerID string) *config.Config {
	t.Helper()
	c := config.New(t.TempDir())
	c.MasterURL, c.Token, c.WorkerID = masterURL, token, workerID
	c.SetupListen = "127.0.0.1:0"
	c.HeartbeatInterval = 200 * time.Millisecond
	c.ConnectTimeout = 2 * time.Second
	c.ReconnectMin = 50 * time.Millisecond
	c.ReconnectMax = 300 * time.Millisecond
	c.OutboxResendInterval = 500 * time.Millisecond
	c.ShutdownGrace = 2 * time.Second
	c.MaxAccounts = 3
	require.NoError(t, c.Validate())
	return c
}

// startAgent starts an agent with the fake factory.
func startAgent(t *testing.T, app *config.Config, f *fakeFactory, mutate func(*Config)) *Agent {
	t.Helper()
	conf := &Config{App: app, Factories: []crawler.Factory{f}, Version: "test", Host: "127.0.0.1"}
	if mutate != nil {
		mutate(conf)
	}
	return startAgentConf(t, conf)
}

// startAgentConf starts an agent as configured; its log is discarded.
func startAgentConf(t *testing.T, conf *Config) *Agent {
	t.Helper()
	if conf.Logger == nil {
		conf.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := New(conf)
	require.NoError(t, err)
	require.NoError(t, a.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, a.Shutdown(ctx))
	})
	return a
}

// connected waits until the agent is registered.
func connected(t *testing.T, a *Agent) {
	t.Helper()
	require.Eventually(t, func() bool {
		return a.Status(context.Background()).Connection == "connected"
	}, waitFor, tick, "agent did not connect")
}

// depth returns the outbox depth.
func depth(t *testing.T, a *Agent) int {
	t.Helper()
	n, err := a.box.Depth(context.Background())
	require.NoError(t, err)
	return n
}

// ids returns n message ids with a prefix.
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}
