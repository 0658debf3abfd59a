package setupweb

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/tidewatch/tidewatch/appliance/config"
)

func TestNewChecksDependencies(t *testing.T) {
	full := func() *Config {
		return &Config{
			Store:     &config.Store{Dir: t.TempDir()},
			Applier:   &fakeApplier{},
			Tester:    fakeTester{},
			Status:    &fakeStatus{},
			SetupCode: testCode,
		}
	}
	tests := []struct {
		name    string
		modify  func(c *Config)
		wantErr string
	}{
		{"complete", func(*Config) {}, ""},
		{"no store", func(c *Config) { c.Store = nil }, "Store is nil"},
		{"no applier", func(c *Config) { c.Applier = nil }, "Applier is nil"},
		{"no tester", func(c *Config) { c.Tester = nil }, "Tester is nil"},
		{"no status", func(c *Config) { c.Status = nil }, "Status is nil"},
		{"no setup code while unconfigured", func(c *Config) { c.SetupCode = " - " }, "SetupCode is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := full()
			tc.modify(c)
			srv, err := New(c)
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.NotNil(t, srv.Handler())
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
	_, err := New(nil)
	assert.Error(t, err)
}

func TestNewSetupCode(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		code, err := NewSetupCode()
		require.NoError(t, err)
		require.Len(t, code, SetupCodeLen)
		for _, r := range code {
			assert.Contains(t, setupCodeAlphabet, string(r))
		}
		seen[code] = true
	}
	assert.Greater(t, len(seen), 45, "codes must be random")

	tests := []struct{ in, want string }{
		{"abcd2345", "ABCD2345"},
		{"ABCD-2345", "ABCD2345"},
		{" ab cd 23 45 ", "ABCD2345"},
		{"", ""},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, normaliseCode(tc.in), tc.in)
	}
}

func TestWizard(t *testing.T) {
	e := startEnv(t, envOpts{})
	c := e.newClient(t)

	// Before the code: everything leads to step 1.
	r := c.get(pathRoot)
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, pathSetup, r.header.Get("Location"))
	r = c.get(pathStatus)
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, pathSetup, r.header.Get("Location"))
	r = c.get(pathSetup)
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, `action="/setup/code"`)
	assert.NotContains(t, r.body, `name="token"`, "step 2 must not show before the code")

	// Step 2 endpoints refuse a client without the code.
	r = c.post(pathSetupFinish, validSetupForm(csrfOf(t, r.body)))
	assert.Equal(t, http.StatusForbidden, r.status)
	r = c.post(pathSetupTest, url.Values{"master_url": {"https://m"}, "token": {testToken}}, csrfHeader, "x", "Accept", "application/json")
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Empty(t, e.applier.applied())

	// Wrong code, then the right one typed casually.
	r = c.enterCode("WRONG234")
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Contains(t, r.body, "That code is not right")
	r = c.enterCode("abcd-2345")
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, pathSetup, r.header.Get("Location"))

	r = c.get(pathSetup)
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, `action="/setup/finish"`)
	csrf := csrfOf(t, r.body)

	t.Run("test connection", func(t *testing.T) {
		tests := []struct {
			name        string
			master      string
			token       string
			wantStatus  int
			wantOutcome string
			wantOK      bool
			wantIn      string
		}{
			{"ok", "https://master.example", testToken, 200, "ok", true, "accepted the token"},
			{"bad token", "https://master.example", badToken, 200, "bad_token", false, "refused the enrollment token"},
			{"version", "https://old", testToken, 200, "version_mismatch", false, "master wants v2"},
			{"tester error hides token", "https://broken", testToken, 502, "error", false, "connection refused"},
			{"bad url", "master.example", testToken, 400, "invalid", false, "http(s) or ws(s)"},
			{"no token", "https://m", "", 400, "invalid", false, "enrollment token"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := c.post(pathSetupTest, url.Values{"master_url": {tc.master}, "token": {tc.token}},
					csrfHeader, csrf, "Accept", "application/json")
				require.Equal(t, tc.wantStatus, r.status, r.body)
				var a testAnswer
				require.NoError(t, json.Unmarshal([]byte(r.body), &a))
				assert.Equal(t, tc.wantOutcome, a.Outcome)
				assert.Equal(t, tc.wantOK, a.OK)
				assert.Contains(t, a.Message, tc.wantIn)
				assert.NotContains(t, r.body, testToken)
			})
		}
	})

	t.Run("invalid input saves nothing", func(t *testing.T) {
		tests := []struct {
			name   string
			modify func(v url.Values)
			field  string
			wantIn string
		}{
			{"short password", func(v url.Values) { v.Set("password", "short"); v.Set("password_confirm", "short") }, "password", "at least 8"},
			{"passwords differ", func(v url.Values) { v.Set("password_confirm", "something else") }, "password_confirm", "differ"},
			{"no master", func(v url.Values) { v.Set("master_url", "") }, "master_url", "Enter the master"},
			{"bad master", func(v url.Values) { v.Set("master_url", "ftp://x") }, "master_url", "http(s) or ws(s)"},
			{"no token", func(v url.Values) { v.Set("token", " ") }, "token", "Enter the enrollment token"},
			{"max accounts word", func(v url.Values) { v.Set("max_accounts", "ten") }, "max_accounts", "whole number"},
			{"max accounts range", func(v url.Values) { v.Set("max_accounts", "0") }, "max_accounts", "between 1 and 100"},
			{"long name", func(v url.Values) { v.Set("worker_name", strings.Repeat("x", 65)) }, "worker_name", "at most 64"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				form := validSetupForm(csrf)
				tc.modify(form)
				r := c.post(pathSetupFinish, form)
				require.Equal(t, http.StatusBadRequest, r.status)
				assert.Contains(t, r.body, `data-error-for="`+tc.field+`"`)
				assert.Contains(t, r.body, tc.wantIn)
				assert.Contains(t, r.body, formError)
				assert.NotContains(t, r.body, testToken, "the token is never echoed")
				assert.NotContains(t, r.body, testPassword, "the password is never echoed")
			})
		}
		assert.Empty(t, e.applier.applied(), "nothing applied")
		cfg, err := config.Load(e.dir)
		require.NoError(t, err)
		assert.False(t, cfg.Configured(), "nothing saved")
		assert.Empty(t, cfg.MasterURL)
	})

	// Finish.
	r = c.post(pathSetupFinish, validSetupForm(csrf))
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Equal(t, pathStatus, r.header.Get("Location"))
	sc := setCookieHeader(r.header, sessionCookie)
	assert.Contains(t, sc, "HttpOnly")
	assert.Contains(t, sc, "SameSite=Strict")
	assert.Contains(t, sc, "Path=/")

	applied := e.applier.applied()
	require.Len(t, applied, 1)
	assert.Equal(t, "https://master.example:8443", applied[0].MasterURL)
	assert.Equal(t, testToken, applied[0].Token)
	assert.Equal(t, "Garage Pi", applied[0].WorkerName)
	assert.Equal(t, 7, applied[0].MaxAccounts)

	cfg, err := config.Load(e.dir)
	require.NoError(t, err)
	assert.True(t, cfg.Configured())
	assert.Equal(t, testToken, cfg.Token)
	assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(cfg.SetupPasswordHash), []byte(testPassword)))
	raw, err := os.ReadFile(filepath.Join(e.dir, config.FileName))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), testToken)
	assert.NotContains(t, string(raw), testPassword)

	// Logged in by the wizard, with a one-time notice.
	r = c.get(pathStatus)
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, "Setup is complete")
	assert.Contains(t, r.body, "acc-1001")
	r = c.get(pathStatus)
	assert.NotContains(t, r.body, "Setup is complete")
}

func TestInstallEndpointsForbiddenAfterSetup(t *testing.T) {
	e := startEnv(t, envOpts{configured: true})
	c := e.newClient(t)
	tests := []struct {
		method string
		path   string
	}{
		{http.MethodGet, pathSetup},
		{http.MethodPost, pathSetupCode},
		{http.MethodPost, pathSetupTest},
		{http.MethodPost, pathSetupFinish},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var r response
			if tc.method == http.MethodGet {
				r = c.get(tc.path)
			} else {
				r = c.post(tc.path, url.Values{"code": {testCode}})
			}
			assert.Equal(t, http.StatusForbidden, r.status)
			assert.Contains(t, r.body, "already set up")
		})
	}
	// Even logged in, the wizard stays closed.
	require.Equal(t, http.StatusSeeOther, c.login(testPassword).status)
	r := c.post(pathSetupFinish, validSetupForm("x"))
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Empty(t, e.applier.applied())
}

func TestSetupCodeRateLimit(t *testing.T) {
	e := startEnv(t, envOpts{burst: 3, limit: rate.Every(10 * time.Second)})
	c := e.newClient(t)
	for i := range 3 {
		r := c.enterCode("WRONG234")
		require.Equal(t, http.StatusForbidden, r.status, "attempt %d", i)
	}
	r := c.enterCode(testCode)
	assert.Equal(t, http.StatusTooManyRequests, r.status, "even the right code waits")
	assert.Contains(t, r.body, "Too many wrong codes")
	assert.Contains(t, r.body, "Wait 10 seconds")
	assert.Equal(t, "10", r.header.Get("Retry-After"))

	e.clock.advance(10 * time.Second)
	r = c.enterCode(testCode)
	assert.Equal(t, http.StatusSeeOther, r.status)
}

func TestLimiterIsPerClientIP(t *testing.T) {
	e := startEnv(t, envOpts{configured: true, burst: 1, limit: rate.Every(time.Minute)})
	h := e.srv.Handler()
	try := func(remote, xff, password string) int {
		// Fetch the login page for the double-submit token.
		get := httptest.NewRequest(http.MethodGet, pathLogin, nil)
		get.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, get)
		ck := rec.Result().Cookies()
		require.NotEmpty(t, ck)
		tok := csrfOf(t, rec.Body.String())

		form := url.Values{"csrf": {tok}, "password": {password}}
		req := httptest.NewRequest(http.MethodPost, pathLogin, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		for _, k := range ck {
			req.AddCookie(k)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	assert.Equal(t, http.StatusUnauthorized, try("192.0.2.1:1000", "", "nope-nope"))
	assert.Equal(t, http.StatusTooManyRequests, try("192.0.2.1:1001", "", "nope-nope"))
	assert.Equal(t, http.StatusTooManyRequests, try("192.0.2.1:1002", "198.51.100.9", testPassword),
		"a forged X-Forwarded-For must not dodge the limit")
	assert.Equal(t, http.StatusSeeOther, try("192.0.2.2:1000", "", testPassword), "another client is not limited")
}

func TestLogin(t *testing.T) {
	e := startEnv(t, envOpts{configured: true})
	c := e.newClient(t)

	r := c.get(pathStatus)
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, pathLogin, r.header.Get("Location"))
	r = c.get(pathStatusJSON)
	assert.Equal(t, http.StatusUnauthorized, r.status)

	r = c.login("wrong password")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, r.body, "Wrong password.")
	assert.Nil(t, c.cookie(sessionCookie))

	r = c.login("")
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "Enter the setup password")

	r = c.login(testPassword)
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, pathStatus, r.header.Get("Location"))
	sc := setCookieHeader(r.header, sessionCookie)
	require.NotEmpty(t, sc)
	assert.Contains(t, sc, "HttpOnly")
	assert.Contains(t, sc, "SameSite=Strict")
	assert.Contains(t, sc, "Max-Age=43200")
	assert.NotContains(t, sc, "Secure", "plain http on the LAN")
	sid := c.cookie(sessionCookie).Value
	assert.Len(t, sid, 43, "256-bit random id")

	r = c.get(pathStatus)
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, "Kitchen Pi")
	r = c.get(pathLogin)
	assert.Equal(t, http.StatusSeeOther, r.status, "logged in users skip the login page")

	// A second login gets a new session id.
	other := e.newClient(t)
	require.Equal(t, http.StatusSeeOther, other.login(testPassword).status)
	assert.NotEqual(t, sid, other.cookie(sessionCookie).Value)

	// Logout ends the session on the server, not only in the browser.
	page := c.get(pathStatus)
	r = c.post(pathLogout, url.Values{"csrf": {csrfOf(t, page.body)}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Contains(t, setCookieHeader(r.header, sessionCookie), "Max-Age=0")
	replay := e.newClient(t)
	u, _ := url.Parse(e.base)
	replay.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: sid}})
	r = replay.get(pathStatus)
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, pathLogin, r.header.Get("Location"))
	r = c.get(pathLogin + "?signed_out=1")
	assert.Contains(t, r.body, "You have signed out.")
}

func TestLoginRateLimit(t *testing.T) {
	e := startEnv(t, envOpts{configured: true, burst: 2, limit: rate.Every(30 * time.Second)})
	c := e.newClient(t)
	assert.Equal(t, http.StatusUnauthorized, c.login("wrong-1").status)
	assert.Equal(t, http.StatusUnauthorized, c.login("wrong-2").status)
	r := c.login(testPassword)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Contains(t, r.body, "Too many wrong passwords from this device. Wait 30 seconds and try again.")
	assert.Equal(t, "30", r.header.Get("Retry-After"))

	e.clock.advance(15 * time.Second)
	r = c.login(testPassword)
	assert.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Contains(t, r.body, "Wait 15 seconds")

	e.clock.advance(15 * time.Second)
	assert.Equal(t, http.StatusSeeOther, c.login(testPassword).status)
	// Successes spend nothing: many right logins in a row are fine.
	for range 5 {
		assert.Equal(t, http.StatusSeeOther, e.newClient(t).login(testPassword).status)
	}
}

func TestCSRF(t *testing.T) {
	e := startEnv(t, envOpts{configured: true})
	c := e.newClient(t)
	require.Equal(t, http.StatusSeeOther, c.login(testPassword).status)
	page := c.get(pathSettings)
	require.Equal(t, http.StatusOK, page.status)
	good := csrfOf(t, page.body)

	change := url.Values{"master_url": {"https://evil.example"}, "token": {""}, "worker_name": {"x"}, "max_accounts": {"5"}}
	tests := []struct {
		name    string
		path    string
		form    url.Values
		headers []string
	}{
		{"settings without token", pathSettings, change, nil},
		{"settings with wrong token", pathSettings, withCSRF(change, "forged"), nil},
		{"settings with another session's token", pathSettings, withCSRF(change, otherSessionCSRF(t, e)), nil},
		{"password without token", pathSettingsPass, url.Values{"current_password": {testPassword}, "password": {"newpassword1"}, "password_confirm": {"newpassword1"}}, nil},
		{"logout without token", pathLogout, url.Values{}, nil},
		{"test without header", pathSettingsTest, url.Values{"master_url": {"https://m"}}, []string{"Accept", "application/json"}},
		{"test with wrong header", pathSettingsTest, url.Values{"master_url": {"https://m"}}, []string{csrfHeader, "nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post(tc.path, tc.form, tc.headers...)
			assert.Equal(t, http.StatusForbidden, r.status)
			assert.Contains(t, r.body, "expired")
		})
	}
	assert.Empty(t, e.applier.applied(), "nothing applied")
	cfg, err := config.Load(e.dir)
	require.NoError(t, err)
	assert.Equal(t, "https://master.example", cfg.MasterURL, "nothing saved")
	assert.Equal(t, http.StatusOK, c.get(pathStatus).status, "still logged in")

	// The right token passes.
	r := c.post(pathSettings, withCSRF(change, good))
	assert.Equal(t, http.StatusSeeOther, r.status)

	t.Run("pre-session forms", func(t *testing.T) {
		fresh := e.newClient(t)
		r := fresh.post(pathLogin, url.Values{"password": {testPassword}})
		assert.Equal(t, http.StatusForbidden, r.status)
		page := fresh.get(pathLogin)
		r = fresh.post(pathLogin, url.Values{"csrf": {csrfOf(t, page.body) + "x"}, "password": {testPassword}})
		assert.Equal(t, http.StatusForbidden, r.status)
		assert.Nil(t, fresh.cookie(sessionCookie))

		unconfigured := startEnv(t, envOpts{}).newClient(t)
		r = unconfigured.post(pathSetupCode, url.Values{"code": {testCode}})
		assert.Equal(t, http.StatusForbidden, r.status)
		assert.Nil(t, unconfigured.cookie(sessionCookie))
	})
}

// withCSRF returns a copy of v with the csrf field set.
func withCSRF(v url.Values, token string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	out.Set(csrfField, token)
	return out
}

// otherSessionCSRF logs in a second client and returns its CSRF token.
func otherSessionCSRF(t *testing.T, e *env) string {
	other := e.newClient(t)
	require.Equal(t, http.StatusSeeOther, other.login(testPassword).status)
	return csrfOf(t, other.get(pathSettings).body)
}

func TestSessionExpires(t *testing.T) {
	e := startEnv(t, envOpts{configured: true, ttl: time.Hour})
	c := e.newClient(t)
	require.Equal(t, http.StatusSeeOther, c.login(testPassword).status)
	assert.Equal(t, http.StatusOK, c.get(pathStatus).status)
	e.clock.advance(time.Hour)
	r := c.get(pathStatus)
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, pathLogin, r.header.Get("Location"))
}

func TestSessionTableIsBounded(t *testing.T) {
	st := newSessionStore(time.Hour, 3)
	now := time.Now()
	var ids []string
	for i := range 5 {
		ids = append(ids, st.create(kindLogin, now.Add(time.Duration(i)*time.Second)).id)
	}
	assert.Len(t, st.m, 3)
	assert.Nil(t, st.get(ids[0], now), "oldest evicted")
	assert.NotNil(t, st.get(ids[4], now))
}

func TestSettings(t *testing.T) {
	e := startEnv(t, envOpts{configured: true})
	c := e.newClient(t)
	require.Equal(t, http.StatusSeeOther, c.login(testPassword).status)

	page := c.get(pathSettings)
	require.Equal(t, http.StatusOK, page.status)
	assert.NotContains(t, page.body, testToken, "the stored token is never sent to the browser")
	assert.Contains(t, page.body, "••• set")
	assert.Contains(t, page.body, `value="https://master.example"`)
	csrf := csrfOf(t, page.body)

	t.Run("invalid input", func(t *testing.T) {
		tests := []struct {
			name  string
			form  url.Values
			field string
		}{
			{"bad url", url.Values{"master_url": {"not a url"}, "max_accounts": {"5"}}, "master_url"},
			{"too many accounts", url.Values{"master_url": {"https://m"}, "max_accounts": {"500"}}, "max_accounts"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := c.post(pathSettings, withCSRF(tc.form, csrf))
				require.Equal(t, http.StatusBadRequest, r.status)
				assert.Contains(t, r.body, `data-error-for="`+tc.field+`"`)
			})
		}
		assert.Empty(t, e.applier.applied())
	})

	t.Run("keep token when empty", func(t *testing.T) {
		r := c.post(pathSettings, withCSRF(url.Values{
			"master_url": {"wss://new-master.example"}, "token": {""}, "worker_name": {"Attic Pi"}, "max_accounts": {"4"},
		}, csrf))
		require.Equal(t, http.StatusSeeOther, r.status, r.body)
		applied := e.applier.applied()
		require.Len(t, applied, 1)
		assert.Equal(t, "wss://new-master.example", applied[0].MasterURL)
		assert.Equal(t, testToken, applied[0].Token)
		assert.Equal(t, "Attic Pi", applied[0].WorkerName)
		assert.Equal(t, 4, applied[0].MaxAccounts)
		page := c.get(pathSettings)
		assert.Contains(t, page.body, "Settings saved.")
	})

	t.Run("replace token", func(t *testing.T) {
		r := c.post(pathSettings, withCSRF(url.Values{
			"master_url": {"wss://new-master.example"}, "token": {"new-token-77"}, "worker_name": {"Attic Pi"}, "max_accounts": {"4"},
		}, csrf))
		require.Equal(t, http.StatusSeeOther, r.status)
		cfg, err := config.Load(e.dir)
		require.NoError(t, err)
		assert.Equal(t, "new-token-77", cfg.Token)
		assert.NotContains(t, c.get(pathSettings).body, "new-token-77")
	})

	t.Run("nothing changed", func(t *testing.T) {
		before := len(e.applier.applied())
		r := c.post(pathSettings, withCSRF(url.Values{
			"master_url": {"wss://new-master.example"}, "worker_name": {"Attic Pi"}, "max_accounts": {"4"},
		}, csrf))
		require.Equal(t, http.StatusSeeOther, r.status)
		assert.Len(t, e.applier.applied(), before)
		assert.Contains(t, c.get(pathSettings).body, "Nothing changed.")
	})

	t.Run("test uses stored token", func(t *testing.T) {
		r := c.post(pathSettingsTest, url.Values{"master_url": {"https://master.example"}}, csrfHeader, csrf)
		require.Equal(t, http.StatusOK, r.status)
		assert.Contains(t, r.body, `"outcome":"bad_token"`, "stored token is new-token-77 now")
		r = c.post(pathSettingsTest, url.Values{"master_url": {"https://master.example"}, "token": {testToken}}, csrfHeader, csrf)
		assert.Contains(t, r.body, `"outcome":"ok"`)
	})
}

func TestSettingsRollBackWhenApplyFails(t *testing.T) {
	e := startEnv(t, envOpts{configured: true, applyErr: errors.New("browser would not start")})
	c := e.newClient(t)
	require.Equal(t, http.StatusSeeOther, c.login(testPassword).status)
	csrf := csrfOf(t, c.get(pathSettings).body)

	r := c.post(pathSettings, withCSRF(url.Values{
		"master_url": {"https://other.example"}, "token": {"tok-new"}, "max_accounts": {"3"},
	}, csrf))
	require.Equal(t, http.StatusInternalServerError, r.status)
	assert.Contains(t, r.body, "browser would not start")
	assert.Contains(t, r.body, "previous ones are back in effect")
	assert.NotContains(t, r.body, "tok-new")

	applied := e.applier.applied()
	require.Len(t, applied, 2, "new settings, then the old ones again")
	assert.Equal(t, "https://other.example", applied[0].MasterURL)
	assert.Equal(t, "https://master.example", applied[1].MasterURL)
	cfg, err := config.Load(e.dir)
	require.NoError(t, err)
	assert.Equal(t, "https://master.example", cfg.MasterURL)
	assert.Equal(t, testToken, cfg.Token)
}

func TestPasswordChange(t *testing.T) {
	e := startEnv(t, envOpts{configured: true})
	c := e.newClient(t)
	require.Equal(t, http.StatusSeeOther, c.login(testPassword).status)
	other := e.newClient(t)
	require.Equal(t, http.StatusSeeOther, other.login(testPassword).status)
	csrf := csrfOf(t, c.get(pathSettings).body)

	tests := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"wrong current", url.Values{"current_password": {"nope"}, "password": {"newpassword1"}, "password_confirm": {"newpassword1"}}, "current_password"},
		{"too short", url.Values{"current_password": {testPassword}, "password": {"short"}, "password_confirm": {"short"}}, "password"},
		{"differ", url.Values{"current_password": {testPassword}, "password": {"newpassword1"}, "password_confirm": {"newpassword2"}}, "password_confirm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post(pathSettingsPass, withCSRF(tc.form, csrf))
			require.Equal(t, http.StatusBadRequest, r.status)
			assert.Contains(t, r.body, `data-error-for="`+tc.field+`"`)
			assert.Contains(t, r.body, "The password was not changed.")
		})
	}

	r := c.post(pathSettingsPass, withCSRF(url.Values{
		"current_password": {testPassword}, "password": {"newpassword1"}, "password_confirm": {"newpassword1"},
	}, csrf))
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Contains(t, c.get(pathSettings).body, "Password changed.")
	assert.Equal(t, http.StatusSeeOther, other.get(pathStatus).status, "other devices are signed out")
	assert.Empty(t, e.applier.applied(), "a password change needs no reconnect")

	assert.Equal(t, http.StatusUnauthorized, e.newClient(t).login(testPassword).status)
	assert.Equal(t, http.StatusSeeOther, e.newClient(t).login("newpassword1").status)
}

func TestStatusJSON(t *testing.T) {
	e := startEnv(t, envOpts{configured: true})
	c := e.newClient(t)
	require.Equal(t, http.StatusSeeOther, c.login(testPassword).status)

	r := c.get(pathStatusJSON)
	require.Equal(t, http.StatusOK, r.status)
	var v statusView
	require.NoError(t, json.Unmarshal([]byte(r.body), &v))
	assert.Equal(t, "connected", v.Connection)
	assert.Equal(t, "Connected", v.ConnectionLabel)
	assert.Equal(t, "12.5 %", v.CPU)
	assert.Equal(t, "431 MB", v.Memory)
	assert.Equal(t, "1.2 GB of 3.7 GB", v.SystemMemory)
	assert.Equal(t, "48.2 °C", v.Temperature)
	assert.Equal(t, "20.0 GB", v.DiskFree)
	assert.Equal(t, "1 d 2 h", v.Uptime)
	assert.Equal(t, 3, v.OutboxDepth)
	require.Len(t, v.Accounts, 2)
	assert.Equal(t, "acc-1001", v.Accounts[0].AccountID)
	assert.Equal(t, "11:59:48 (12 s ago)", v.Accounts[0].LastPoll)
	assert.Equal(t, "good", v.Accounts[0].StateClass)
	assert.Equal(t, "cookie expired", v.Accounts[1].LastError)
	assert.Equal(t, "bad", v.Accounts[1].StateClass)

	e.status.set(func(st *Status) {
		st.System.TemperatureC = nil
		st.Accounts = nil
		st.Connection = StateConnecting
	})
	r = c.get(pathStatusJSON)
	require.NoError(t, json.Unmarshal([]byte(r.body), &v))
	assert.Equal(t, "—", v.Temperature)
	assert.Empty(t, v.Accounts)
	assert.Equal(t, "Connecting…", v.ConnectionLabel)
}

func TestHeadersAssetsAndErrors(t *testing.T) {
	e := startEnv(t, envOpts{})
	c := e.newClient(t)

	r := c.get(pathSetup)
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.header.Get("Content-Security-Policy"), "default-src 'self'")
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "DENY", r.header.Get("X-Frame-Options"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	assert.NotContains(t, r.body, "http://", "no external resources")
	assert.NotContains(t, r.body, "https://")

	for _, a := range []string{"/assets/app.css", "/assets/app.js", "/assets/icon.svg"} {
		r := c.get(a)
		assert.Equal(t, http.StatusOK, r.status, a)
		assert.NotEmpty(t, r.body, a)
		assert.NotContains(t, r.body, "//fonts.", a)
		assert.NotContains(t, r.body, "cdn", a)
	}

	r = c.get("/nope")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Contains(t, r.body, "There is no such page")
	assert.Contains(t, r.header.Get("Content-Type"), "text/html")
}

func TestStartShutdown(t *testing.T) {
	srv, err := New(&Config{
		Store: &config.Store{Dir: t.TempDir()}, Applier: &fakeApplier{}, Tester: fakeTester{},
		Status: &fakeStatus{}, SetupCode: testCode, Listen: "127.0.0.1:0",
	})
	require.NoError(t, err)
	assert.Nil(t, srv.Addr())
	require.NoError(t, srv.Start(context.Background()))
	assert.Error(t, srv.Start(context.Background()), "second start")
	resp, err := http.Get("http://" + srv.Addr().String() + pathSetup)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	_, err = http.Get("http://" + srv.Addr().String() + pathSetup)
	assert.Error(t, err, "no longer listening")
}
