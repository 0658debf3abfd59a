package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/master/metrics"
	"github.com/tidewatch/tidewatch/master/store"
	"golang.org/x/crypto/bcrypt"
)

// testPassword is the password of every user the harness creates.
const testPassword = "correct horse battery"

// fakeFleet is a Fleet of OnX callbacks; a call without its callback set
// panics, which the API turns into a 500 the test then sees.
type fakeFleet struct {
	OnAccountChanged   func(ctx context.Context, accountID string) error
	OnAccountDeleted   func(a store.Account, viewers []string)
	OnShutdownWorker   func(ctx context.Context, workerID, reason string, grace time.Duration) error
	OnWorkerLive       func(id string) hub.WorkerLive
	OnClientsConnected func() int
	OnTokenRevoked     func(ctx context.Context, tokenID string)
	OnStartLogin       func(ctx context.Context, accountID, userID string) (hub.LoginSession, error)
	OnLogin            func(id string) (hub.LoginSession, bool)
	OnCancelLogin      func(ctx context.Context, id string) (hub.LoginSession, error)
}

// type check
var _ Fleet = (*fakeFleet)(nil)

// AccountChanged implements Fleet.
func (f *fakeFleet) AccountChanged(ctx context.Context, accountID string) error {
	if f.OnAccountChanged == nil {
		panic("unexpected call to AccountChanged")
	}
	return f.OnAccountChanged(ctx, accountID)
}

// AccountDeleted implements Fleet.
func (f *fakeFleet) AccountDeleted(a store.Account, viewers []string) {
	if f.OnAccountDeleted == nil {
		panic("unexpected call to AccountDeleted")
	}
	f.OnAccountDeleted(a, viewers)
}

// StartLogin implements Fleet.
func (f *fakeFleet) StartLogin(ctx context.Context, accountID, userID string) (hub.LoginSession, error) {
	if f.OnStartLogin == nil {
		panic("unexpected call to StartLogin")
	}
	return f.OnStartLogin(ctx, accountID, userID)
}

// Login implements Fleet.
func (f *fakeFleet) Login(id string) (hub.LoginSession, bool) {
	if f.OnLogin == nil {
		panic("unexpected call to Login")
	}
	return f.OnLogin(id)
}

// CancelLogin implements Fleet.
func (f *fakeFleet) CancelLogin(ctx context.Context, id string) (hub.LoginSession, error) {
	if f.OnCancelLogin == nil {
		panic("unexpected call to CancelLogin")
	}
	return f.OnCancelLogin(ctx, id)
}

// TokenRevoked implements Fleet.
func (f *fakeFleet) TokenRevoked(ctx context.Context, tokenID string) {
	if f.OnTokenRevoked == nil {
		panic("unexpected call to TokenRevoked")
	}
	f.OnTokenRevoked(ctx, tokenID)
}

// ShutdownWorker implements Fleet.
func (f *fakeFleet) ShutdownWorker(ctx context.Context, workerID, reason string, grace time.Duration) error {
	if f.OnShutdownWorker == nil {
		panic("unexpected call to ShutdownWorker")
	}
	return f.OnShutdownWorker(ctx, workerID, reason, grace)
}

// WorkerLive implements Fleet.
func (f *fakeFleet) WorkerLive(id string) hub.WorkerLive {
	if f.OnWorkerLive == nil {
		panic("unexpected call to WorkerLive")
	}
	return f.OnWorkerLive(id)
}

// ClientsConnected implements Fleet.
func (f *fakeFleet) ClientsConnected() int {
	if f.OnClientsConnected == nil {
		panic("unexpected call to ClientsConnected")
	}
	return f.OnClientsConnected()
}

// recorder collects the fleet calls of a test.
type recorder struct {
	mu      sync.Mutex
	changed []string
	deleted []deletion
	revoked []string
}

// deletion is one recorded AccountDeleted call.
type deletion struct {
	account store.Account
	viewers []string
}

// changedIDs returns the ids passed to AccountChanged so far.
func (r *recorder) changedIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.changed...)
}

// deletions returns the AccountDeleted calls so far.
func (r *recorder) deletions() []deletion {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]deletion(nil), r.deleted...)
}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

// now returns the clock's time.
func (c *clock) now() time.Time { return time.Unix(0, c.ns.Load()) }

// set moves the clock to t.
func (c *clock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// advance moves the clock forward.
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is one API under test: a real store, a fake fleet, a real HTTP server
// on 127.0.0.1.
type env struct {
	t      *testing.T
	st     *store.Store
	fleet  *fakeFleet
	rec    *recorder
	issuer *auth.Issuer
	clock  *clock
	url    string

	// secrets must never appear in any response body.
	mu      sync.Mutex
	secrets []string
}

// newEnv starts an API; mod may adjust the config.
func newEnv(t *testing.T, mod ...func(*Config)) *env {
	t.Helper()
	clk := &clock{}
	clk.set(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	key := bytes.Repeat([]byte{7}, 32)
	st, err := store.Open(context.Background(), &store.Config{
		Path: filepath.Join(t.TempDir(), "api.db"), Key: key, Logger: slog.New(slog.DiscardHandler), Now: clk.now,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })

	rec := &recorder{}
	fleet := &fakeFleet{
		OnAccountChanged: func(_ context.Context, id string) error {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.changed = append(rec.changed, id)
			return nil
		},
		OnAccountDeleted: func(a store.Account, viewers []string) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.deleted = append(rec.deleted, deletion{a, viewers})
		},
		OnTokenRevoked: func(_ context.Context, id string) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.revoked = append(rec.revoked, id)
		},
		OnWorkerLive:       func(string) hub.WorkerLive { return hub.WorkerLive{} },
		OnClientsConnected: func() int { return 0 },
	}
	issuer := auth.NewIssuer(bytes.Repeat([]byte{9}, 32), time.Hour, clk.now)
	cfg := &Config{
		Store: st, Fleet: fleet, Issuer: issuer, Metrics: metrics.New(),
		Logger: slog.New(slog.DiscardHandler), Version: "1.2.3-test",
		PasswordCost: bcrypt.MinCost, LoginBurst: 1000, LoginRate: 1000, Now: clk.now,
	}
	for _, m := range mod {
		m(cfg)
	}
	e := echo.New()
	require.NoError(t, Register(e, cfg))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, fleet: fleet, rec: rec, issuer: issuer, clock: clk, url: srv.URL}
}

// forbid records a secret that no response may contain.
func (e *env) forbid(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, s)
}

// user creates a user and returns it with a valid token.
func (e *env) user(name string, admin bool) (store.User, string) {
	e.t.Helper()
	hash, err := auth.HashPasswordCost(testPassword, bcrypt.MinCost)
	require.NoError(e.t, err)
	u, err := e.st.CreateUser(context.Background(), name, hash, admin)
	require.NoError(e.t, err)
	tok, _, err := e.issuer.Issue(u.ID, admin)
	require.NoError(e.t, err)
	return u, tok
}

// response is a finished request.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// errCode returns the error code of an error body, "" if there is none.
func (r response) errCode() string {
	var b errorBody
	if json.Unmarshal(r.body, &b) != nil {
		return ""
	}
	return string(b.Error.Code)
}

// errMessage returns the error message of an error body.
func (r response) errMessage() string {
	var b errorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Message
}

// do sends a request; body is sent as is when it is a string or []byte and
// as JSON otherwise (nil sends none). Headers come in pairs.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)

	e.mu.Lock()
	secrets := append([]string(nil), e.secrets...)
	e.mu.Unlock()
	for _, s := range secrets {
		assert.NotContains(e.t, string(raw), s, "%s %s leaked a secret", method, path)
	}
	if res.StatusCode >= 400 && method != http.MethodHead {
		assert.NotEmpty(e.t, response{body: raw}.errCode(), "%s %s: error without code: %s", method, path, raw)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}
