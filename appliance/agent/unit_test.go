package agent

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/appliance/link"
	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

// fakeLink is a Link that records what is sent and never answers.
type fakeLink struct {
	mu    sync.Mutex
	state link.State
	sent  []protocol.Message
}

// Start implements Link.
func (l *fakeLink) Start(context.Context) error { return nil }

// Shutdown implements Link.
func (l *fakeLink) Shutdown(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state = link.StateStopped
	return nil
}

// Send implements Link.
func (l *fakeLink) Send(_ context.Context, msg protocol.Message) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != link.StateConnected {
		return link.ErrNotConnected
	}
	l.sent = append(l.sent, msg)
	return nil
}

// Status implements Link.
func (l *fakeLink) Status() link.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return link.Status{State: l.state}
}

// setState changes the state.
func (l *fakeLink) setState(s link.State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state = s
}

// sentOf returns the request ids (or account ids) of sent messages of typ.
func (l *fakeLink) sentOf(typ string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, m := range l.sent {
		if m.Type != typ {
			continue
		}
		switch p := m.Payload.(type) {
		case protocol.TaskAssignAck:
			out = append(out, p.AccountID)
		default:
			out = append(out, m.RequestID)
		}
	}
	return out
}

// payloadOf returns the first sent payload of typ.
func (l *fakeLink) payloadOf(typ string) any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.sent {
		if m.Type == typ {
			return m.Payload
		}
	}
	return nil
}

// startWithFakeLink starts an agent whose link is fl.
func startWithFakeLink(t *testing.T, f *fakeFactory, fl *fakeLink) *Agent {
	t.Helper()
	app := appConfig(t, "http://127.0.0.1:1", "the-token", "w-unit")
	return startAgent(t, app, f, func(c *Config) {
		c.NewLink = func(*link.Config) (Link, error) { return fl, nil }
	})
}

// sealed seals creds for an account with the test token.
func sealed(t *testing.T, accountID, creds string) string {
	t.Helper()
	s, err := credseal.Seal(credseal.DeriveKey("the-token"), []byte(creds), accountID)
	require.NoError(t, err)
	return s
}

// assigned builds a register ack entry.
func assigned(t *testing.T, id, creds string, interval int) protocol.AssignedAccount {
	return protocol.AssignedAccount{ID: id, Platform: protocol.PlatformDouyin, AccountID: "p" + id,
		Credentials: sealed(t, id, creds), MonitorInterval: interval}
}

func TestAgent_applyAssignedExactly(t *testing.T) {
	f := &fakeFactory{}
	fl := &fakeLink{state: link.StateConnected}
	a := startWithFakeLink(t, f, fl)
	ctx := context.Background()
	h := a.handler

	h.Registered(ctx, &protocol.WorkerRegisterAck{Success: true, AssignedAccounts: []protocol.AssignedAccount{
		assigned(t, "a1", "jar1", 30), assigned(t, "a2", "jar2", 30), assigned(t, "a3", "jar3", 30),
	}})
	for _, id := range []string{"a1", "a2", "a3"} {
		require.True(t, f.running(id), id)
	}

	// After a failover the master moved a2 away, changed a1's credentials
	// and a3's interval, and added a4 (capacity 3).
	h.Registered(ctx, &protocol.WorkerRegisterAck{Success: true, AssignedAccounts: []protocol.AssignedAccount{
		assigned(t, "a1", "jar1-new", 30), assigned(t, "a3", "jar3", 60), assigned(t, "a4", "jar4", 30),
	}})
	assert.False(t, f.running("a2"), "a2 must stop: not listed any more")
	assert.True(t, f.running("a1"))
	assert.Equal(t, 1, f.startCount("a1"), "new credentials must not restart the monitor")
	assert.Equal(t, "jar1-new", f.monitor("a1").credentials())
	assert.Equal(t, 2, f.startCount("a3"), "a new interval restarts the monitor")
	assert.Equal(t, time.Minute, f.monitor("a3").acc.Interval)
	assert.True(t, f.running("a4"))
	assert.Equal(t, 3, a.runningCount())

	// An empty list stops everything.
	h.Registered(ctx, &protocol.WorkerRegisterAck{Success: true})
	assert.Zero(t, a.runningCount())
	for _, id := range []string{"a1", "a3", "a4"} {
		assert.False(t, f.running(id), id)
	}
}

func TestAgent_assignAnswers(t *testing.T) {
	f := &fakeFactory{}
	fl := &fakeLink{state: link.StateConnected}
	a := startWithFakeLink(t, f, fl)
	ctx := context.Background()
	env := protocol.Envelope{Type: protocol.TypeTaskAssign}
	assign := func(id, platform, creds string) *protocol.TaskAssign {
		return &protocol.TaskAssign{AccountID: id, Platform: platform, AccountCredentials: creds, MonitorInterval: 30}
	}
	tests := []struct {
		name    string
		p       *protocol.TaskAssign
		wantOK  bool
		wantMsg string
	}{
		{"ok", assign("b1", protocol.PlatformDouyin, sealed(t, "b1", "jar")), true, ""},
		{"no credentials", assign("b2", protocol.PlatformDouyin, ""), true, ""},
		{"unknown platform", assign("b3", "weibo", ""), false, "not supported"},
		{"credentials for another account", assign("b4", protocol.PlatformDouyin, sealed(t, "b1", "jar")), false, "credentials"},
		{"ok again", assign("b5", protocol.PlatformDouyin, ""), true, ""},
		{"over capacity", assign("b6", protocol.PlatformDouyin, ""), false, "as many accounts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fl.mu.Lock()
			fl.sent = nil
			fl.mu.Unlock()
			a.handler.Received(ctx, env, tc.p)
			ack, ok := fl.payloadOf(protocol.TypeTaskAssignAck).(protocol.TaskAssignAck)
			require.True(t, ok, "no assign ack sent")
			assert.Equal(t, tc.p.AccountID, ack.AccountID)
			assert.Equal(t, tc.wantOK, ack.Success)
			assert.Contains(t, ack.ErrorMessage, tc.wantMsg)
			assert.Equal(t, tc.wantOK, f.running(tc.p.AccountID))
		})
	}
	a.handler.Received(ctx, protocol.Envelope{Type: protocol.TypeTaskRevoke}, &protocol.TaskRevoke{AccountID: "b1"})
	assert.False(t, f.running("b1"))
}

func TestAgent_outboxOrderAndResend(t *testing.T) {
	f := &fakeFactory{}
	fl := &fakeLink{state: link.StateConnecting}
	a := startWithFakeLink(t, f, fl)
	ctx := context.Background()
	a.handler.Registered(ctx, &protocol.WorkerRegisterAck{Success: true, AssignedAccounts: []protocol.AssignedAccount{
		assigned(t, "c1", "jar", 30),
	}})
	mon := f.monitor("c1")
	want := ids("o", 6)
	mon.detect(t, want[:3]...)
	mon.detect(t, want[3:]...)
	require.Equal(t, 6, depth(t, a), "items must be stored before anything is sent")
	assert.Empty(t, fl.sentOf(protocol.TypeMessageDetected), "nothing is sent while disconnected")

	// Connected: everything goes out once, oldest first.
	fl.setState(link.StateConnected)
	a.handler.Registered(ctx, &protocol.WorkerRegisterAck{Success: true, AssignedAccounts: []protocol.AssignedAccount{
		assigned(t, "c1", "jar", 30),
	}})
	require.Eventually(t, func() bool { return len(fl.sentOf(protocol.TypeMessageDetected)) >= 6 }, waitFor, tick)
	assert.Equal(t, want, fl.sentOf(protocol.TypeMessageDetected)[:6])

	// Unacknowledged items are sent again, in order, after the interval.
	require.Eventually(t, func() bool { return len(fl.sentOf(protocol.TypeMessageDetected)) >= 12 }, waitFor, tick)
	assert.Equal(t, want, fl.sentOf(protocol.TypeMessageDetected)[6:12])

	// Acks delete; an unknown-account refusal drops loudly; an internal
	// error keeps the item.
	for _, k := range want[:4] {
		a.handler.Received(ctx, protocol.Envelope{Type: protocol.TypeMessageAck}, &protocol.MessageAck{Success: true, MessageID: k})
	}
	a.handler.Received(ctx, protocol.Envelope{Type: protocol.ErrorType(protocol.TypeMessageDetected), RequestID: want[4]},
		&protocol.ErrorPayload{ErrorCode: protocol.ErrAccountNotFound, ErrorMessage: "gone"})
	a.handler.Received(ctx, protocol.Envelope{Type: protocol.ErrorType(protocol.TypeMessageDetected), RequestID: want[5]},
		&protocol.ErrorPayload{ErrorCode: protocol.ErrInternal, ErrorMessage: "busy"})
	assert.Equal(t, 1, depth(t, a))
	assert.Contains(t, a.Status(ctx).ConnectionDetail, "1 undeliverable")

	// The payload carries the current worker id and the item.
	var p protocol.MessageDetected
	raw, err := json.Marshal(fl.payloadOf(protocol.TypeMessageDetected))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &p))
	assert.Equal(t, "w-unit", p.WorkerID)
	assert.Equal(t, "c1", p.AccountID)
	assert.Equal(t, want[0], p.Data.ID)
}

func TestAgent_invalidItemsAreNotStored(t *testing.T) {
	f := &fakeFactory{}
	fl := &fakeLink{state: link.StateConnected}
	a := startWithFakeLink(t, f, fl)
	a.handler.Registered(context.Background(), &protocol.WorkerRegisterAck{Success: true,
		AssignedAccounts: []protocol.AssignedAccount{assigned(t, "d1", "jar", 30)}})
	mon := f.monitor("d1")
	// No platform id: the master would refuse it forever.
	err := mon.sink.Detected(context.Background(), "d1", []crawler.Detection{{MessageType: protocol.MessageTypeComment,
		Data: protocol.MessageData{ID: "x"}}})
	require.NoError(t, err)
	assert.Zero(t, depth(t, a))
	assert.Contains(t, a.Status(context.Background()).ConnectionDetail, "undeliverable")
}

func TestAgent_credentialsWaitForConnection(t *testing.T) {
	f := &fakeFactory{}
	fl := &fakeLink{state: link.StateConnected}
	a := startWithFakeLink(t, f, fl)
	ctx := context.Background()
	a.handler.Registered(ctx, &protocol.WorkerRegisterAck{Success: true,
		AssignedAccounts: []protocol.AssignedAccount{assigned(t, "e1", "jar", 30)}})
	mon := f.monitor("e1")

	fl.setState(link.StateConnecting)
	mon.sink.CredentialsChanged(ctx, "e1", []byte("rolled"), time.Time{})
	assert.Empty(t, fl.sentOf(protocol.TypeCredentialsUpdate))

	// On reconnect the master still has the old jar; the monitor keeps the
	// rolled one, which is then sent.
	fl.setState(link.StateConnected)
	a.handler.Registered(ctx, &protocol.WorkerRegisterAck{Success: true,
		AssignedAccounts: []protocol.AssignedAccount{assigned(t, "e1", "jar", 30)}})
	assert.Equal(t, "jar", mon.credentials(), "the fake keeps what it was last given")
	p, ok := fl.payloadOf(protocol.TypeCredentialsUpdate).(protocol.CredentialsUpdate)
	require.True(t, ok)
	opened, err := credseal.Open(credseal.DeriveKey("the-token"), p.Credentials, "e1")
	require.NoError(t, err)
	assert.Equal(t, "rolled", string(opened))
	assert.Equal(t, "w-unit", p.WorkerID)
}

func TestAgent_failedSendsWorkerError(t *testing.T) {
	f := &fakeFactory{}
	fl := &fakeLink{state: link.StateConnected}
	a := startWithFakeLink(t, f, fl)
	ctx := context.Background()
	a.handler.Registered(ctx, &protocol.WorkerRegisterAck{Success: true,
		AssignedAccounts: []protocol.AssignedAccount{assigned(t, "g1", "jar", 30)}})
	f.monitor("g1").sink.Failed(ctx, "g1", protocol.ErrorTypeRateLimited, "slow down", 4)
	p, ok := fl.payloadOf(protocol.TypeWorkerError).(protocol.WorkerError)
	require.True(t, ok)
	assert.Equal(t, protocol.WorkerError{WorkerID: "w-unit", ErrorType: protocol.ErrorTypeRateLimited, AccountID: "g1",
		ErrorMessage: "slow down", Details: protocol.ErrorDetails{Platform: protocol.PlatformDouyin, RetryCount: 4}}, p)
	assert.NoError(t, p.Validate())
}

func TestAgent_startFailureIsReported(t *testing.T) {
	f := &fakeFactory{failWith: errors.New("browser missing")}
	fl := &fakeLink{state: link.StateConnected}
	a := startWithFakeLink(t, f, fl)
	a.handler.Registered(context.Background(), &protocol.WorkerRegisterAck{Success: true,
		AssignedAccounts: []protocol.AssignedAccount{assigned(t, "h1", "jar", 30)}})
	p, ok := fl.payloadOf(protocol.TypeWorkerError).(protocol.WorkerError)
	require.True(t, ok)
	assert.Equal(t, "h1", p.AccountID)
	assert.Contains(t, p.ErrorMessage, "browser missing")
}
