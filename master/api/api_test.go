package api

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master/auth"
	"golang.org/x/time/rate"
)

// protectedRoute is a route that needs a login.
type protectedRoute struct {
	method, path string
	admin        bool
}

// protectedRoutes lists every route that needs a login, with ids filled in.
func protectedRoutes() []protectedRoute {
	return []protectedRoute{
		{http.MethodGet, "/api/v1/accounts", false},
		{http.MethodPost, "/api/v1/accounts", false},
		{http.MethodGet, "/api/v1/accounts/acc-000000000000", false},
		{http.MethodPatch, "/api/v1/accounts/acc-000000000000", false},
		{http.MethodDelete, "/api/v1/accounts/acc-000000000000", false},
		{http.MethodPost, "/api/v1/accounts/acc-000000000000/login", false},
		{http.MethodGet, "/api/v1/login-sessions/login-1", false},
		{http.MethodDelete, "/api/v1/login-sessions/login-1", false},
		{http.MethodGet, "/api/v1/notifications", false},
		{http.MethodGet, "/api/v1/workers", true},
		{http.MethodPost, "/api/v1/workers/w1/shutdown", true},
		{http.MethodGet, "/api/v1/worker-tokens", true},
		{http.MethodPost, "/api/v1/worker-tokens", true},
		{http.MethodDelete, "/api/v1/worker-tokens/wtk-1", true},
		{http.MethodGet, "/api/v1/users", true},
		{http.MethodPost, "/api/v1/users", true},
	}
}

func TestProtectedRoutesCoverTheTable(t *testing.T) {
	listed := map[string]bool{}
	for _, r := range protectedRoutes() {
		path := r.path
		for _, id := range []string{"acc-000000000000", "w1", "wtk-1", "login-1"} {
			path = strings.Replace(path, "/"+id, "/:id", 1)
		}
		listed[r.method+" "+path] = r.admin
	}
	for _, r := range (&api{}).routes() {
		key := r.method + " " + r.path
		if r.access == accessPublic {
			assert.NotContains(t, listed, key)
			continue
		}
		require.Contains(t, listed, key, "the auth tests miss a route")
		assert.Equal(t, r.access == accessAdmin, listed[key], key)
	}
}

func TestRegisterNeedsItsParts(t *testing.T) {
	assert.Error(t, Register(echo.New(), nil))
	assert.Error(t, Register(nil, &Config{}))
	assert.Error(t, Register(echo.New(), &Config{Fleet: &fakeFleet{}}))
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	u, _ := e.user("alice", false)
	otherIssuer := auth.NewIssuer(bytes.Repeat([]byte{1}, 32), time.Hour, e.clock.now)
	forged, _, err := otherIssuer.Issue(u.ID, true)
	require.NoError(t, err)
	ghost, _, err := e.issuer.Issue("usr-deadbeef", true)
	require.NoError(t, err)
	expiredIssuer := auth.NewIssuer(bytes.Repeat([]byte{9}, 32), time.Hour,
		func() time.Time { return e.clock.now().Add(-2 * time.Hour) })
	expired, _, err := expiredIssuer.Issue(u.ID, false)
	require.NoError(t, err)

	tests := []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"not bearer", "Basic YWxpY2U6c2VjcmV0"},
		{"empty bearer", "Bearer "},
		{"garbage", "Bearer not.a.jwt"},
		{"other key", "Bearer " + forged},
		{"unknown user", "Bearer " + ghost},
		{"expired", "Bearer " + expired},
	}
	for _, r := range protectedRoutes() {
		for _, tt := range tests {
			t.Run(r.method+" "+r.path+" "+tt.name, func(t *testing.T) {
				var hdr []string
				if tt.header != "" {
					hdr = []string{"Authorization", tt.header}
				}
				res := e.do(r.method, r.path, "", `{}`, hdr...)
				assert.Equal(t, http.StatusUnauthorized, res.status)
				assert.Equal(t, "ERR_AUTH_FAILED", res.errCode())
				assert.Contains(t, res.header.Get("WWW-Authenticate"), "Bearer")
			})
		}
	}
}

func TestAdminRoutesRefuseUsers(t *testing.T) {
	e := newEnv(t)
	_, tok := e.user("bob", false)
	for _, r := range protectedRoutes() {
		if !r.admin {
			continue
		}
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			res := e.do(r.method, r.path, tok, `{"name":"x","username":"x","password":"longenough"}`)
			assert.Equal(t, http.StatusForbidden, res.status)
			assert.Equal(t, "ERR_FORBIDDEN", res.errCode())
		})
	}
	// A token claiming admin does not make a plain user one: the flag is
	// read from the store.
	u, _, err := e.st.UserByUsername(context.Background(), "bob")
	require.NoError(t, err)
	lying, _, err := e.issuer.Issue(u.ID, true)
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, e.do(http.MethodGet, "/api/v1/users", lying, nil).status)
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	e.forbid(testPassword)
	u, _ := e.user("carol", true)

	t.Run("ok", func(t *testing.T) {
		res := e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": "carol", "password": testPassword})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var out loginResponse
		res.decode(t, &out)
		assert.NotEmpty(t, out.Token)
		assert.Equal(t, e.clock.now().Add(time.Hour).Unix(), out.ExpiresAt)
		assert.Equal(t, u.ID, out.User.ID)
		assert.True(t, out.User.Admin)
		claims, err := e.issuer.Verify(out.Token)
		require.NoError(t, err)
		assert.Equal(t, u.ID, claims.UserID)
		assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/users", out.Token, nil).status)
	})

	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"wrong password", `{"username":"carol","password":"wrong password"}`, 401, "ERR_AUTH_FAILED", "wrong username or password"},
		{"unknown user", `{"username":"nobody","password":"` + testPassword + `"}`, 401, "ERR_AUTH_FAILED", "wrong username or password"},
		{"missing password", `{"username":"carol"}`, 400, "ERR_INVALID_PAYLOAD", "required"},
		{"bad json", `{"username":`, 400, "ERR_INVALID_PAYLOAD", "truncated"},
		{"wrong type", `{"username":5,"password":"x"}`, 400, "ERR_INVALID_PAYLOAD", `"username" must be a string`},
		{"empty body", ``, 400, "ERR_INVALID_PAYLOAD", "empty"},
		{"not an object", `[1,2]`, 400, "ERR_INVALID_PAYLOAD", "JSON object"},
		{"trailing data", `{"username":"carol","password":"x"} {}`, 400, "ERR_INVALID_PAYLOAD", "after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(http.MethodPost, "/api/v1/auth/login", "", tt.body)
			assert.Equal(t, tt.wantStatus, res.status, "%s", res.body)
			assert.Equal(t, tt.wantCode, res.errCode())
			assert.Contains(t, res.errMessage(), tt.wantMsg)
		})
	}

	t.Run("unknown fields are ignored", func(t *testing.T) {
		res := e.do(http.MethodPost, "/api/v1/auth/login", "",
			`{"username":"carol","password":"`+testPassword+`","device":"cli","extra":{"a":1}}`)
		assert.Equal(t, http.StatusOK, res.status, "%s", res.body)
	})
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.LoginRate = rate.Every(time.Minute)
		c.LoginBurst = 2
		// The test client is always 127.0.0.1; a header stands in for
		// distinct addresses.
		c.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-Addr") }
	})
	e.user("dave", false)
	good := map[string]string{"username": "dave", "password": testPassword}
	bad := map[string]string{"username": "dave", "password": "not the password"}
	login := func(addr string, body any) response {
		return e.do(http.MethodPost, "/api/v1/auth/login", "", body, "X-Test-Addr", addr)
	}

	assert.Equal(t, http.StatusUnauthorized, login("10.0.0.1", bad).status)
	assert.Equal(t, http.StatusUnauthorized, login("10.0.0.1", bad).status)
	res := login("10.0.0.1", good)
	assert.Equal(t, http.StatusTooManyRequests, res.status, "a right password does not skip the limit")
	assert.Equal(t, "ERR_RATE_LIMITED", res.errCode())
	assert.Equal(t, "60", res.header.Get("Retry-After"))

	assert.Equal(t, http.StatusOK, login("10.0.0.2", good).status, "another address has its own bucket")

	e.clock.advance(time.Minute)
	assert.Equal(t, http.StatusOK, login("10.0.0.1", good).status, "the bucket refills")
	assert.Equal(t, http.StatusTooManyRequests, login("10.0.0.1", good).status)
}

func TestLimiterForgetsIdleAddresses(t *testing.T) {
	clk := &clock{}
	clk.set(time.Unix(1_700_000_000, 0))
	l := newLimiter(rate.Every(10*time.Second), 3, clk.now)
	for _, addr := range []string{"a", "b", "c"} {
		ok, _ := l.allow(addr)
		require.True(t, ok)
	}
	require.Equal(t, 3, l.size())
	clk.advance(40 * time.Second)
	l.allow("a")
	assert.Equal(t, 3, l.size(), "pruning waits a minute")
	clk.advance(21 * time.Second)
	l.allow("d")
	assert.Equal(t, 2, l.size(), "b and c were idle for a full refill, a was not")
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BodyLimit = 1 << 10 })
	_, tok := e.user("erin", false)
	big := `{"platform":"douyin","account_id":"x","credentials":"` + strings.Repeat("a", 2<<10) + `"}`

	t.Run("declared length", func(t *testing.T) {
		res := e.do(http.MethodPost, "/api/v1/accounts", tok, big)
		assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
		assert.Equal(t, "ERR_PAYLOAD_TOO_LARGE", res.errCode())
		assert.Contains(t, res.errMessage(), "1024 bytes")
	})
	t.Run("chunked", func(t *testing.T) {
		// A reader of unknown length makes the client send no
		// Content-Length, so only reading finds the excess.
		req, err := http.NewRequest(http.MethodPost, e.url+"/api/v1/accounts", struct{ *strings.Reader }{strings.NewReader(big)})
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = res.Body.Close() }()
		assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
		assert.Empty(t, req.Header.Get("Content-Length"))
	})
	t.Run("default limit", func(t *testing.T) {
		e := newEnv(t)
		_, tok := e.user("erin", false)
		res := e.do(http.MethodPost, "/api/v1/accounts", tok, strings.Repeat(" ", DefaultBodyLimit+1))
		assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	})
}

func TestHealthMetricsAndUnknownRoutes(t *testing.T) {
	e := newEnv(t)

	res := e.do(http.MethodGet, "/healthz", "", nil)
	require.Equal(t, http.StatusOK, res.status)
	var h healthResponse
	res.decode(t, &h)
	assert.Equal(t, healthResponse{Status: "ok", Version: "1.2.3-test"}, h)

	res = e.do(http.MethodGet, "/metrics", "", nil)
	assert.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, string(res.body), "tidewatch_workers_online")

	res = e.do(http.MethodGet, "/api/v1/nothing-here", "", nil)
	assert.Equal(t, http.StatusNotFound, res.status)
	assert.Equal(t, "ERR_NOT_FOUND", res.errCode())

	res = e.do(http.MethodPut, "/api/v1/accounts", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, res.status)
	assert.Equal(t, "ERR_METHOD_NOT_ALLOWED", res.errCode())

	require.NoError(t, e.st.Close())
	res = e.do(http.MethodGet, "/healthz", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
	assert.Equal(t, "ERR_UNAVAILABLE", res.errCode())
}

func TestPanicBecomesInternalError(t *testing.T) {
	e := newEnv(t)
	_, tok := e.user("frank", false)
	e.fleet.OnAccountChanged = nil // the fake panics
	res := e.do(http.MethodPost, "/api/v1/accounts", tok, map[string]any{"platform": "douyin", "account_id": "p1"})
	assert.Equal(t, http.StatusInternalServerError, res.status)
	assert.Equal(t, "ERR_INTERNAL", res.errCode())
	assert.Equal(t, "internal error", res.errMessage(), "no internals in the message")
}
