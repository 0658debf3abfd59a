package agent

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/appliance/setupweb"
	"github.com/tidewatch/tidewatch/protocol"
)

func TestAgent_registerAssignRevoke(t *testing.T) {
	m := startMaster(t, t.TempDir(), "127.0.0.1:0")
	accA := m.account(t, "100", `{"cookies":"A"}`)
	f := &fakeFactory{}
	a := startAgent(t, appConfig(t, m.URL, m.Token(t, t.Name()), "w-assign"), f, nil)
	connected(t, a)

	// The register ack carried A, with credentials the agent could open.
	require.Eventually(t, func() bool { return f.running(accA.ID) }, waitFor, tick)
	monA := f.monitor(accA.ID)
	assert.JSONEq(t, `{"cookies":"A"}`, monA.credentials())
	assert.Equal(t, 30*time.Second, monA.acc.Interval)
	assert.Equal(t, "100", monA.acc.PlatformAccountID)

	// A new account arrives as master:task:assign and is acknowledged.
	accB := m.account(t, "200", `{"cookies":"B"}`)
	require.Eventually(t, func() bool { return f.running(accB.ID) }, waitFor, tick)
	assert.Equal(t, "w-assign", m.workerOf(t, accB.ID))

	// Deleting it on the master revokes it here.
	ctx := context.Background()
	viewers, err := m.Server.Store.AccountViewers(ctx, accB.ID)
	require.NoError(t, err)
	current, err := m.Server.Store.GetAccount(ctx, accB.ID)
	require.NoError(t, err)
	require.NoError(t, m.Server.Store.DeleteAccount(ctx, accB.ID))
	m.Server.Hub.AccountDeleted(current, viewers)
	require.Eventually(t, func() bool { return !f.running(accB.ID) }, waitFor, tick)
	assert.True(t, f.running(accA.ID))

	st := a.Status(ctx)
	assert.Equal(t, setupweb.StateConnected, st.Connection)
	require.Len(t, st.Accounts, 1)
	assert.Equal(t, accA.ID, st.Accounts[0].AccountID)
	assert.Equal(t, "w-assign", st.WorkerID)
}

func TestAgent_heartbeatsCarryRealFigures(t *testing.T) {
	m := startMaster(t, t.TempDir(), "127.0.0.1:0")
	a := startAgent(t, appConfig(t, m.URL, m.Token(t, t.Name()), "w-beat"), &fakeFactory{}, nil)
	connected(t, a)
	require.Eventually(t, func() bool {
		w, err := m.Server.Store.GetWorker(context.Background(), "w-beat")
		return err == nil && w.MemoryUsage > 0 && len(w.Extra) > 0
	}, waitFor, tick, "no heartbeat with memory figures reached the master")
	w, err := m.Server.Store.GetWorker(context.Background(), "w-beat")
	require.NoError(t, err)
	assert.Contains(t, string(w.Extra), "outbox_depth")
	assert.Contains(t, string(w.Extra), "memory_total_mb")
	assert.Equal(t, []string{protocol.PlatformDouyin}, w.Capabilities)
	assert.Equal(t, 3, w.MaxAccounts)
}

func TestAgent_outboxSurvivesMasterOutage(t *testing.T) {
	dir := t.TempDir()
	m := startMaster(t, dir, "127.0.0.1:0")
	addr := m.Addr
	acc := m.account(t, "300", "jar")
	f := &fakeFactory{}
	a := startAgent(t, appConfig(t, m.URL, m.Token(t, t.Name()), "w-outage"), f, nil)
	connected(t, a)
	require.Eventually(t, func() bool { return f.running(acc.ID) }, waitFor, tick)

	// Live: detected, sent, acked, deleted.
	f.monitor(acc.ID).detect(t, "live-1")
	require.Eventually(t, func() bool { return depth(t, a) == 0 && len(m.notifications(t)) == 1 }, waitFor, tick)

	// Master down: items wait in the outbox, in order.
	m.Stop(t)
	require.Eventually(t, func() bool {
		return a.Status(context.Background()).Connection == setupweb.StateConnecting
	}, waitFor, tick)
	want := ids("down", 5)
	f.monitor(acc.ID).detect(t, want[:2]...)
	f.monitor(acc.ID).detect(t, want[2:]...)
	assert.Equal(t, 5, depth(t, a))
	assert.Equal(t, 5, a.Status(context.Background()).OutboxDepth)

	// Master back on the same port and data: delivered once each, in order.
	m2 := startMaster(t, dir, addr)
	require.Eventually(t, func() bool { return depth(t, a) == 0 }, waitFor, tick, "outbox never drained")
	got := m2.notifications(t)
	assert.Equal(t, append([]string{"live-1"}, want...), got)
	// The account stayed with the worker across the outage.
	assert.True(t, f.running(acc.ID))
	assert.Equal(t, 1, f.startCount(acc.ID))
}

func TestAgent_reportsErrorsAndCredentials(t *testing.T) {
	m := startMaster(t, t.TempDir(), "127.0.0.1:0")
	acc := m.account(t, "400", "old jar")
	f := &fakeFactory{}
	a := startAgent(t, appConfig(t, m.URL, m.Token(t, t.Name()), "w-err"), f, nil)
	connected(t, a)
	require.Eventually(t, func() bool { return f.running(acc.ID) }, waitFor, tick)
	mon := f.monitor(acc.ID)
	ctx := context.Background()

	mon.sink.CredentialsChanged(ctx, acc.ID, []byte("rolled jar"), time.Time{})
	require.Eventually(t, func() bool {
		c, err := m.Server.Store.AccountCredentials(ctx, acc.ID)
		return err == nil && string(c) == "rolled jar"
	}, waitFor, tick, "rolled credentials never reached the master")

	mon.sink.Failed(ctx, acc.ID, protocol.ErrorTypeAuthFailed, "cookie expired", 2)
	require.Eventually(t, func() bool {
		got, err := m.Server.Store.GetAccount(ctx, acc.ID)
		return err == nil && got.Status == protocol.AccountStatusError && got.ErrorMessage == "cookie expired"
	}, waitFor, tick, "the master did not record the error")
	st := a.Status(ctx)
	require.Len(t, st.Accounts, 1)
	assert.Equal(t, stateLoginRequired, st.Accounts[0].State)
	assert.Equal(t, "cookie expired", st.Accounts[0].LastError)
}

func TestAgent_masterShutdownDrains(t *testing.T) {
	m := startMaster(t, t.TempDir(), "127.0.0.1:0")
	acc := m.account(t, "500", "jar")
	f := &fakeFactory{}
	a := startAgent(t, appConfig(t, m.URL, m.Token(t, t.Name()), "w-drain"), f, nil)
	connected(t, a)
	require.Eventually(t, func() bool { return f.running(acc.ID) }, waitFor, tick)
	f.monitor(acc.ID).detect(t, ids("drain", 3)...)

	require.NoError(t, m.Server.Hub.ShutdownWorker(context.Background(), "w-drain", "maintenance", 5*time.Second))
	select {
	case <-a.Done():
	case <-time.After(waitFor):
		t.Fatal("agent did not finish draining")
	}
	assert.False(t, f.running(acc.ID))
	assert.Zero(t, depth(t, a))
	assert.Len(t, m.notifications(t), 3)
	assert.Equal(t, setupweb.StateDisconnected, a.Status(context.Background()).Connection)
	assert.Error(t, a.Apply(context.Background(), appConfig(t, m.URL, "x", "w-drain")))
}

func TestAgent_rejectedToken(t *testing.T) {
	m := startMaster(t, t.TempDir(), "127.0.0.1:0")
	a := startAgent(t, appConfig(t, m.URL, "wrong-token", "w-rej"), &fakeFactory{}, nil)
	require.Eventually(t, func() bool {
		return a.Status(context.Background()).Connection == setupweb.StateRejected
	}, waitFor, tick)
	st := a.Status(context.Background())
	assert.NotEmpty(t, st.ConnectionDetail)
	assert.NotContains(t, st.ConnectionDetail, "wrong-token")
}

func TestAgent_applyReconnects(t *testing.T) {
	m := startMaster(t, t.TempDir(), "127.0.0.1:0")
	app := appConfig(t, m.URL, "wrong-token", "w-apply")
	a := startAgent(t, app, &fakeFactory{}, nil)
	require.Eventually(t, func() bool {
		return a.Status(context.Background()).Connection == setupweb.StateRejected
	}, waitFor, tick)

	next := app.Clone()
	next.Token, next.MaxAccounts, next.WorkerName = m.Token(t, t.Name()), 7, "kitchen"
	require.NoError(t, a.Apply(context.Background(), next))
	connected(t, a)
	require.Eventually(t, func() bool {
		w, err := m.Server.Store.GetWorker(context.Background(), "w-apply")
		return err == nil && w.MaxAccounts == 7
	}, waitFor, tick)
	assert.Equal(t, "kitchen", a.Status(context.Background()).WorkerName)
}

func TestAgent_connectionTest(t *testing.T) {
	m := startMaster(t, t.TempDir(), "127.0.0.1:0")
	token := m.Token(t, t.Name())
	app := appConfig(t, m.URL, token, "w-test")
	a := startAgent(t, app, &fakeFactory{}, nil)
	connected(t, a)
	ctx := context.Background()

	tests := []struct {
		name  string
		url   string
		token string
		want  setupweb.TestOutcome
	}{
		{"live connection", m.URL, token, setupweb.TestOK},
		{"bad token", m.URL, "nope", setupweb.TestBadToken},
		{"unreachable", "http://127.0.0.1:1", token, setupweb.TestUnreachable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := a.Test(ctx, tc.url, tc.token)
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.Outcome, res.Message)
		})
	}
	// The test connections left the live one alone.
	assert.Equal(t, setupweb.StateConnected, a.Status(ctx).Connection)
}

func TestAgent_notConfigured(t *testing.T) {
	app := appConfig(t, "", "", "w-new")
	a := startAgent(t, app, &fakeFactory{}, nil)
	st := a.Status(context.Background())
	assert.Equal(t, setupweb.StateNotConfigured, st.Connection)
	assert.Equal(t, "w-new", st.WorkerID)
}
