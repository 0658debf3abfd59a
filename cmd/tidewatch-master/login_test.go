package main

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/internal/siotest"
	"github.com/tidewatch/tidewatch/internal/testmaster"
	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

// loginFixture is a running master with one user, account and appliance.
type loginFixture struct {
	url     string
	account string
	worker  *siotest.Peer
	secret  string
}

func newLoginFixture(t *testing.T) *loginFixture {
	t.Helper()
	m := testmaster.Start(t, &testmaster.Config{ShutdownTimeout: 5 * time.Second, LaxShutdown: true})
	u := m.User(t, "alice", "correct horse", false)
	acc := m.Account(t, store.Account{OwnerID: u.ID, Platform: "douyin", PlatformAccountID: "dy1", Name: "mine", MonitorInterval: 30, Status: "error"}, nil)
	secret := m.Token(t, "pi")
	w, err := siotest.Dial(m.URL, map[string]any{"token": secret})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	require.NoError(t, w.Send(protocol.TypeWorkerRegister, protocol.WorkerRegister{WorkerID: "w1", Capabilities: []string{"douyin"}, MaxAccounts: 5}))
	_, err = w.Await(protocol.TypeWorkerRegisterAck, 5*time.Second)
	require.NoError(t, err)
	return &loginFixture{url: m.URL, account: acc.ID, worker: w, secret: secret}
}

// qrDataURL renders content as a QR PNG data URL, as the login page does.
func qrDataURL(t *testing.T, content string) string {
	t.Helper()
	png, err := qrcode.Encode(content, qrcode.Medium, 256)
	require.NoError(t, err)
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}

func TestAccountLoginPrintsQRAndSucceeds(t *testing.T) {
	f := newLoginFixture(t)
	c, stdout, stderr := testCLI(nil, "correct horse\n")
	done := make(chan int, 1)
	go func() {
		done <- c.run(context.Background(), []string{"account", "login", "--server", f.url, "--username", "alice", "--password-stdin", "--poll", "50ms", f.account})
	}()
	start, err := f.worker.Await(protocol.TypeLoginStart, 5*time.Second)
	require.NoError(t, err)
	sid := siotest.Payload(start)["session_id"].(string)
	require.NoError(t, f.worker.Send(protocol.TypeLoginQRCode, protocol.LoginQRCode{SessionID: sid, AccountID: f.account, QRCodeData: qrDataURL(t, "https://qr.example/one")}))
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, f.worker.Send(protocol.TypeLoginQRCode, protocol.LoginQRCode{SessionID: sid, AccountID: f.account, QRCodeData: qrDataURL(t, "https://qr.example/two")}))
	time.Sleep(300 * time.Millisecond)
	sealed, err := credseal.Seal(credseal.DeriveKey(f.secret), []byte(`{"cookies":[{"name":"sessionid","value":"v"}]}`), f.account)
	require.NoError(t, err)
	require.NoError(t, f.worker.Send(protocol.TypeLoginSuccess, protocol.LoginSuccess{SessionID: sid, AccountID: f.account, Credentials: sealed, UserInfo: protocol.LoginUserInfo{Nickname: "创作者"}}))
	select {
	case code := <-done:
		require.Equal(t, exitOK, code, "stderr: %s", stderr)
	case <-time.After(10 * time.Second):
		t.Fatal("account login did not finish")
	}
	out := stdout.String()
	assert.Equal(t, 2, strings.Count(out, "Scan this code"), "each rotated code is printed once")
	assert.Contains(t, out, "█")
	assert.Contains(t, out, "logged in as 创作者")
	assert.NotContains(t, out+stderr.String(), "correct horse")
}

func TestAccountLoginReportsFailureAndCancels(t *testing.T) {
	f := newLoginFixture(t)
	t.Run("refused", func(t *testing.T) {
		c, _, stderr := testCLI(nil, "correct horse\n")
		done := make(chan int, 1)
		go func() {
			done <- c.run(context.Background(), []string{"account", "login", "--server", f.url, "--username", "alice", "--password-stdin", "--poll", "50ms", f.account})
		}()
		start, err := f.worker.Await(protocol.TypeLoginStart, 5*time.Second)
		require.NoError(t, err)
		sid := siotest.Payload(start)["session_id"].(string)
		require.NoError(t, f.worker.Send(protocol.TypeLoginFailed, protocol.LoginFailed{SessionID: sid, AccountID: f.account, ErrorType: "refused", ErrorMessage: "用户拒绝了登录"}))
		require.Equal(t, exitFail, <-done)
		assert.Contains(t, stderr.String(), "login failed (refused): 用户拒绝了登录")
	})
	t.Run("interrupted", func(t *testing.T) {
		c, _, stderr := testCLI(nil, "correct horse\n")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- c.run(ctx, []string{"account", "login", "--server", f.url, "--username", "alice", "--password-stdin", "--poll", "50ms", f.account})
		}()
		_, err := f.worker.Await(protocol.TypeLoginStart, 5*time.Second)
		require.NoError(t, err)
		cancel()
		_, err = f.worker.Await(protocol.TypeLoginCancel, 5*time.Second)
		require.NoError(t, err, "the appliance is told to close its login page")
		require.Equal(t, exitFail, <-done)
		assert.Contains(t, stderr.String(), "the login was cancelled")
	})
	t.Run("bad usage and unreachable master", func(t *testing.T) {
		c, _, stderr := testCLI(nil, "pw-pw-pw-pw\n")
		assert.Equal(t, exitUsage, c.run(context.Background(), []string{"account", "login", "--username", "a", "--password-stdin"}))
		assert.Contains(t, stderr.String(), "one account id")
		c, _, stderr = testCLI(nil, "pw-pw-pw-pw\n")
		assert.Equal(t, exitFail, c.run(context.Background(), []string{"account", "login", "--server", "http://127.0.0.1:1", "--username", "a", "--password-stdin", "acc-1"}))
		assert.Contains(t, stderr.String(), "cannot reach the server at http://127.0.0.1:1")
	})
}
