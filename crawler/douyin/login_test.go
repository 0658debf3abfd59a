package douyin

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/crawler/fakedouyin"
	"github.com/tidewatch/tidewatch/protocol"
)

// loginRec records a login's progress.
type loginRec struct {
	mu     sync.Mutex
	qrs    []string
	creds  []byte
	user   crawler.LoginUser
	failed string
	ended  chan struct{}
	once   sync.Once
}

func newLoginRec() *loginRec { return &loginRec{ended: make(chan struct{})} }

// QRCode implements crawler.LoginSink.
func (r *loginRec) QRCode(_ context.Context, _ crawler.LoginRequest, u string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.qrs = append(r.qrs, u)
}

// Succeeded implements crawler.LoginSink.
func (r *loginRec) Succeeded(_ context.Context, _ crawler.LoginRequest, creds []byte, u crawler.LoginUser) {
	r.mu.Lock()
	r.creds, r.user = creds, u
	r.mu.Unlock()
	r.once.Do(func() { close(r.ended) })
}

// Failed implements crawler.LoginSink.
func (r *loginRec) Failed(_ context.Context, _ crawler.LoginRequest, typ, _ string) {
	r.mu.Lock()
	r.failed = typ
	r.mu.Unlock()
	r.once.Do(func() { close(r.ended) })
}

// qrCount returns how many distinct codes were handed over.
func (r *loginRec) qrCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.qrs)
}

// startLoginFake starts a fake whose QR codes rotate quickly.
func startLoginFake(t *testing.T) *fakedouyin.Server {
	t.Helper()
	s, err := fakedouyin.New(&fakedouyin.Config{
		Listen: "127.0.0.1:0", QRRotate: 1500 * time.Millisecond, QRPollInterval: 200 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
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
	return s
}

// pendingLogin waits for the fake's one pending login session.
func pendingLogin(t *testing.T, fake *fakedouyin.Server) fakedouyin.LoginSession {
	t.Helper()
	var got fakedouyin.LoginSession
	eventually(t, func() bool {
		ls := fake.LoginSessions()
		if len(ls) == 0 {
			return false
		}
		got = ls[len(ls)-1]
		return true
	}, "a pending login on the fake")
	return got
}

func TestLogin(t *testing.T) {
	fake := startLoginFake(t)
	cfg := testConfig(fake, t.TempDir())
	cfg.LoginPoll = 200 * time.Millisecond
	f := newFactory(t, cfg)
	info, err := fake.CreateAccount(fakedouyin.AccountSpec{Nickname: "扫码的创作者"})
	require.NoError(t, err)

	t.Run("scan and confirm", func(t *testing.T) {
		rec := newLoginRec()
		require.NoError(t, f.Login(context.Background(), crawler.LoginRequest{SessionID: "s1", AccountID: "acc-1", Timeout: 30 * time.Second}, rec))
		eventually(t, func() bool { return rec.qrCount() >= 2 }, "the first code and a rotated one")
		rec.mu.Lock()
		assert.NotEqual(t, rec.qrs[0], rec.qrs[1])
		assert.Contains(t, rec.qrs[0], "data:image/png;base64,")
		rec.mu.Unlock()
		ls := pendingLogin(t, fake)
		_, err := fake.DoLogin(ls.ID, fakedouyin.ActionScanned, "")
		require.NoError(t, err)
		_, err = fake.DoLogin(ls.ID, fakedouyin.ActionConfirmed, info.UID)
		require.NoError(t, err)
		<-rec.ended
		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Empty(t, rec.failed)
		creds, err := ParseCredentials(rec.creds)
		require.NoError(t, err)
		sid, ok := creds.cookie("sessionid")
		require.True(t, ok, "the jar holds the HttpOnly session cookie")
		assert.True(t, sid.HTTPOnly)
		want, _ := fake.Account(info.UID)
		var wantSID string
		for _, c := range want.Credentials.Cookies {
			if c.Name == "sessionid" {
				wantSID = c.Value
			}
		}
		assert.Equal(t, wantSID, sid.Value, "the account's own session")
		assert.Equal(t, "1", creds.LocalStorage["HasUserLogin"])
		assert.Equal(t, "扫码的创作者", rec.user.Nickname)
	})

	tests := []struct {
		name   string
		action fakedouyin.LoginAction
		want   string
	}{
		{"refused", fakedouyin.ActionRefused, protocol.LoginErrorRefused},
		{"expired", fakedouyin.ActionExpired, protocol.LoginErrorExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newLoginRec()
			require.NoError(t, f.Login(context.Background(), crawler.LoginRequest{SessionID: tt.name, AccountID: "acc-1", Timeout: 30 * time.Second}, rec))
			eventually(t, func() bool { return rec.qrCount() >= 1 }, "a code")
			ls := pendingLogin(t, fake)
			_, err := fake.DoLogin(ls.ID, tt.action, "")
			require.NoError(t, err)
			<-rec.ended
			rec.mu.Lock()
			defer rec.mu.Unlock()
			assert.Equal(t, tt.want, rec.failed)
			assert.Nil(t, rec.creds)
		})
	}

	t.Run("timeout", func(t *testing.T) {
		rec := newLoginRec()
		require.NoError(t, f.Login(context.Background(), crawler.LoginRequest{SessionID: "slow", AccountID: "acc-1", Timeout: 2 * time.Second}, rec))
		<-rec.ended
		rec.mu.Lock()
		defer rec.mu.Unlock()
		assert.Equal(t, protocol.LoginErrorTimeout, rec.failed)
	})

	t.Run("cancelled reports nothing", func(t *testing.T) {
		rec := newLoginRec()
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, f.Login(ctx, crawler.LoginRequest{SessionID: "gone", AccountID: "acc-1", Timeout: 30 * time.Second}, rec))
		eventually(t, func() bool { return rec.qrCount() >= 1 }, "a code")
		cancel()
		select {
		case <-rec.ended:
			t.Fatal("a cancelled login reported an end")
		case <-time.After(time.Second):
		}
	})
}
