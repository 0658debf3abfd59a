package agent

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/protocol"
)

// fakeLoginFactory is a fakeFactory that can log in: the test drives each
// login through the sink it was given.
type fakeLoginFactory struct {
	fakeFactory
	mu     sync.Mutex
	logins map[string]*fakeLogin
}

// fakeLogin is one login the agent started.
type fakeLogin struct {
	ctx  context.Context
	req  crawler.LoginRequest
	sink crawler.LoginSink
}

// Login implements crawler.LoginFactory.
func (f *fakeLoginFactory) Login(ctx context.Context, req crawler.LoginRequest, sink crawler.LoginSink) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.logins == nil {
		f.logins = map[string]*fakeLogin{}
	}
	f.logins[req.SessionID] = &fakeLogin{ctx: ctx, req: req, sink: sink}
	return nil
}

// login returns a started login.
func (f *fakeLoginFactory) login(id string) *fakeLogin {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins[id]
}

func TestAgent_qrLogin(t *testing.T) {
	m := startMaster(t, t.TempDir(), "127.0.0.1:0")
	ctx := context.Background()
	acc := m.account(t, "100", "")
	f := &fakeLoginFactory{}
	app := appConfig(t, m.URL, m.Token(t, t.Name()), "w-login")
	conf := &Config{App: app, Factories: []crawler.Factory{f}, Version: "test", Host: "127.0.0.1"}
	a := startAgentConf(t, conf)
	connected(t, a)

	s, err := m.Server.Hub.StartLogin(ctx, acc.ID, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.login(s.ID) != nil }, waitFor, tick)
	l := f.login(s.ID)
	assert.Equal(t, acc.ID, l.req.AccountID)
	assert.Equal(t, 5*time.Minute, l.req.Timeout)

	l.sink.QRCode(ctx, l.req, "data:image/png;base64,QUFB")
	require.Eventually(t, func() bool {
		got, _ := m.Server.Hub.Login(s.ID)
		return got.Status == protocol.LoginStatusQRReady && got.QRCodeData == "data:image/png;base64,QUFB"
	}, waitFor, tick)

	jar := `{"cookies":[{"name":"sessionid","value":"new-session","expires":1900000000}]}`
	l.sink.Succeeded(ctx, l.req, []byte(jar), crawler.LoginUser{Nickname: "创作者", UID: "100"})
	require.Eventually(t, func() bool {
		got, _ := m.Server.Hub.Login(s.ID)
		return got.Status == protocol.LoginStatusSucceeded
	}, waitFor, tick)
	creds, err := m.Server.Store.AccountCredentials(ctx, acc.ID)
	require.NoError(t, err)
	assert.JSONEq(t, jar, string(creds), "the jar crossed sealed and was stored")
	assert.Error(t, l.ctx.Err(), "a finished login releases its context")

	// Cancelling on the master cancels the appliance's login.
	s2, err := m.Server.Hub.StartLogin(ctx, acc.ID, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.login(s2.ID) != nil }, waitFor, tick)
	_, err = m.Server.Hub.CancelLogin(ctx, s2.ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.login(s2.ID).ctx.Err() != nil }, waitFor, tick)

	// A failure reaches the master with its kind.
	s3, err := m.Server.Hub.StartLogin(ctx, acc.ID, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.login(s3.ID) != nil }, waitFor, tick)
	l3 := f.login(s3.ID)
	l3.sink.Failed(ctx, l3.req, protocol.LoginErrorRefused, "用户拒绝")
	require.Eventually(t, func() bool {
		got, _ := m.Server.Hub.Login(s3.ID)
		return got.Status == protocol.LoginStatusFailed && got.ErrorType == "refused"
	}, waitFor, tick)
}

func TestAgent_loginWithoutLoginFactoryFails(t *testing.T) {
	m := startMaster(t, t.TempDir(), "127.0.0.1:0")
	acc := m.account(t, "100", "")
	a := startAgent(t, appConfig(t, m.URL, m.Token(t, t.Name()), "w-nologin"), &fakeFactory{}, nil)
	connected(t, a)
	s, err := m.Server.Hub.StartLogin(context.Background(), acc.ID, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, _ := m.Server.Hub.Login(s.ID)
		return got.Status == protocol.LoginStatusFailed && got.ErrorType == "unsupported"
	}, waitFor, tick)
}
