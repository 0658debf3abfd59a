package link_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/appliance/link"
	"github.com/tidewatch/tidewatch/internal/testmaster"
	"github.com/tidewatch/tidewatch/protocol"
)

// waitFor bounds every wait for something the master or the link does.
const waitFor = 10 * time.Second

// recorder is a link.Handler that records what it is given.
type recorder struct {
	mu         sync.Mutex
	registered int
	received   []string
	beats      int
}

// Registered implements link.Handler.
func (r *recorder) Registered(context.Context, *protocol.WorkerRegisterAck) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.registered++
}

// Received implements link.Handler.
func (r *recorder) Received(_ context.Context, env protocol.Envelope, _ protocol.Validator) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.received = append(r.received, env.Type)
}

// Heartbeat implements link.Handler.
func (r *recorder) Heartbeat(context.Context) (protocol.WorkerHeartbeat, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.beats++
	return protocol.WorkerHeartbeat{Status: protocol.WorkerStatusOnline, MemoryUsage: 12.5, CPUUsage: 1.5}, nil
}

// counts returns registrations and heartbeats so far.
func (r *recorder) counts() (registered, beats int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.registered, r.beats
}

// newLink starts a link to url with token.
func newLink(t *testing.T, url, token, workerID string, h link.Handler) *link.Link {
	t.Helper()
	l, err := link.New(&link.Config{
		MasterURL: url, Token: token, Handler: h, Logger: slog.New(slog.DiscardHandler),
		Register: protocol.WorkerRegister{WorkerID: workerID, Host: "127.0.0.1", Port: 7601, Version: "test",
			Capabilities: []string{protocol.PlatformDouyin}, MaxAccounts: 2},
		HeartbeatInterval: 200 * time.Millisecond, ConnectTimeout: 2 * time.Second,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, l.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, l.Shutdown(ctx))
		assert.Equal(t, link.StateStopped, l.Status().State)
	})
	return l
}

func TestLink_registersAndHeartbeats(t *testing.T) {
	m := testmaster.Start(t, &testmaster.Config{Hub: testmaster.QuickHub()})
	rec := &recorder{}
	l := newLink(t, m.URL, m.Token(t, t.Name()), "w-hb", rec)

	require.Eventually(t, func() bool { return l.Status().State == link.StateConnected }, waitFor, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		w, err := m.Server.Store.GetWorker(context.Background(), "w-hb")
		return err == nil && w.MemoryUsage == 12.5 && w.CPUUsage == 1.5
	}, waitFor, 50*time.Millisecond, "the master never recorded a heartbeat")

	reg, beats := rec.counts()
	assert.Equal(t, 1, reg)
	assert.GreaterOrEqual(t, beats, 1)
	assert.True(t, m.Server.Hub.WorkerLive("w-hb").Connected)
}

func TestLink_rejectedToken(t *testing.T) {
	m := testmaster.Start(t, &testmaster.Config{Hub: testmaster.QuickHub()})
	rec := &recorder{}
	l := newLink(t, m.URL, "not-a-token", "w-bad", rec)

	require.Eventually(t, func() bool { return l.Status().State == link.StateRejected }, waitFor, 20*time.Millisecond)
	st := l.Status()
	assert.Contains(t, st.Detail, "token")
	assert.NotContains(t, st.Detail, "not-a-token")
	reg, _ := rec.counts()
	assert.Zero(t, reg)
	assert.ErrorIs(t, l.Send(context.Background(), protocol.NewMessage(protocol.TypeWorkerError,
		protocol.WorkerError{}, time.Now(), "")), link.ErrNotConnected)
}

func TestLink_reconnectsAfterMasterRestart(t *testing.T) {
	dir := t.TempDir()
	m := testmaster.Start(t, &testmaster.Config{DataDir: dir, Hub: testmaster.QuickHub()})
	token := m.Token(t, t.Name())
	addr := m.Addr
	rec := &recorder{}
	l := newLink(t, m.URL, token, "w-re", rec)
	require.Eventually(t, func() bool { return l.Status().State == link.StateConnected }, waitFor, 20*time.Millisecond)

	m.Stop(t)
	require.Eventually(t, func() bool { return l.Status().State == link.StateConnecting }, waitFor, 20*time.Millisecond)

	testmaster.Start(t, &testmaster.Config{DataDir: dir, Listen: addr, Hub: testmaster.QuickHub()})
	require.Eventually(t, func() bool {
		reg, _ := rec.counts()
		return reg == 2 && l.Status().State == link.StateConnected
	}, waitFor, 20*time.Millisecond, "the link did not register again")
}

func TestLink_unreachable(t *testing.T) {
	rec := &recorder{}
	// A port nothing listens on: connect attempts fail and back off.
	l := newLink(t, "http://127.0.0.1:1", "tok", "w-none", rec)
	require.Eventually(t, func() bool {
		st := l.Status()
		return st.State == link.StateConnecting && st.Attempts >= 2 && st.Detail != ""
	}, waitFor, 20*time.Millisecond)
}

func TestProbe(t *testing.T) {
	m := testmaster.Start(t, &testmaster.Config{Hub: testmaster.QuickHub()})
	reg := protocol.WorkerRegister{WorkerID: "w-probe", Capabilities: []string{protocol.PlatformDouyin}, MaxAccounts: 1}
	tests := []struct {
		name  string
		url   string
		token string
		want  link.ProbeOutcome
	}{
		{"ok", m.URL, m.Token(t, t.Name()), link.ProbeOK},
		{"bad token", m.URL, "wrong", link.ProbeRejected},
		{"unreachable", "http://127.0.0.1:1", "x", link.ProbeUnreachable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := link.Probe(context.Background(), &link.ProbeConfig{
				MasterURL: tc.url, Token: tc.token, Register: reg, Timeout: 2 * time.Second,
			})
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.Outcome, res.Message)
		})
	}
}

func TestNew_badConfig(t *testing.T) {
	good := link.Config{MasterURL: "http://x", Token: "t", Handler: &recorder{},
		Register: protocol.WorkerRegister{WorkerID: "w", Capabilities: []string{"douyin"}, MaxAccounts: 1}}
	tests := []struct {
		name   string
		mutate func(c *link.Config)
	}{
		{"no url", func(c *link.Config) { c.MasterURL = "" }},
		{"bad scheme", func(c *link.Config) { c.MasterURL = "ftp://x" }},
		{"no token", func(c *link.Config) { c.Token = "" }},
		{"no handler", func(c *link.Config) { c.Handler = nil }},
		{"no capabilities", func(c *link.Config) { c.Register.Capabilities = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mutate(&c)
			_, err := link.New(&c)
			assert.Error(t, err)
		})
	}
	_, err := link.New(&good)
	assert.NoError(t, err)
}
