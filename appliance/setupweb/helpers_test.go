package setupweb

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/tidewatch/tidewatch/appliance/config"
)

// Test values.
const (
	testCode     = "ABCD2345"
	testPassword = "correct horse"
	testToken    = "enroll-tok-5d1e8a"
	badToken     = "enroll-tok-wrong"
)

// fakeApplier records applied configurations; err, when set, is returned.
type fakeApplier struct {
	mu    sync.Mutex
	calls []*config.Config
	err   error
}

// Apply implements Applier.
func (a *fakeApplier) Apply(_ context.Context, cfg *config.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, cfg.Clone())
	if a.err != nil && len(a.calls) == 1 {
		return a.err
	}
	return nil
}

// applied returns the recorded configurations.
func (a *fakeApplier) applied() []*config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*config.Config(nil), a.calls...)
}

// fakeTester accepts testToken, refuses others, and fails for a master
// whose host is "broken".
type fakeTester struct{}

// Test implements ConnectionTester.
func (fakeTester) Test(_ context.Context, masterURL, token string) (TestResult, error) {
	u, _ := url.Parse(masterURL)
	switch {
	case u.Hostname() == "broken":
		return TestResult{}, errors.New("dialing with token " + token + ": connection refused")
	case u.Hostname() == "old":
		return TestResult{Outcome: TestVersionMismatch, Message: "master wants v2"}, nil
	case token != testToken:
		return TestResult{Outcome: TestBadToken, Message: "ERR_AUTH_FAILED"}, nil
	}
	return TestResult{Outcome: TestOK, Message: "master v1.4"}, nil
}

// fakeStatus returns a snapshot that tests may change.
type fakeStatus struct {
	mu sync.Mutex
	st Status
}

// Status implements StatusSource.
func (f *fakeStatus) Status(context.Context) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

// set replaces the snapshot.
func (f *fakeStatus) set(fn func(st *Status)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.st)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// advance moves the clock forward.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one server under test with its fakes.
type env struct {
	srv     *Server
	base    string
	dir     string
	store   *config.Store
	applier *fakeApplier
	status  *fakeStatus
	clock   *fakeClock
}

// envOpts change the server config of a test.
type envOpts struct {
	configured bool
	burst      int
	limit      rate.Limit
	ttl        time.Duration
	refresh    time.Duration
	applyErr   error
}

// startEnv starts a real server on 127.0.0.1:0 over a real config directory.
func startEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	dir := t.TempDir()
	store := &config.Store{Dir: dir}
	if o.configured {
		cfg, err := config.Load(dir)
		require.NoError(t, err)
		cfg.MasterURL = "https://master.example"
		cfg.Token = testToken
		cfg.WorkerName = "Kitchen Pi"
		hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
		require.NoError(t, err)
		cfg.SetupPasswordHash = string(hash)
		require.NoError(t, config.Save(cfg))
	}
	e := &env{
		dir:     dir,
		store:   store,
		applier: &fakeApplier{err: o.applyErr},
		status:  &fakeStatus{st: sampleStatus()},
		clock:   &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)},
	}
	srv, err := New(&Config{
		Store:           store,
		Applier:         e.applier,
		Tester:          fakeTester{},
		Status:          e.status,
		Listen:          "127.0.0.1:0",
		Clock:           e.clock.Now,
		SetupCode:       testCode,
		LoginBurst:      o.burst,
		LoginRate:       o.limit,
		SessionTTL:      o.ttl,
		RefreshInterval: o.refresh,
		BcryptCost:      bcrypt.MinCost,
		Version:         "test",
	})
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
	})
	e.srv = srv
	e.base = "http://" + srv.Addr().String()
	return e
}

// sampleStatus is a status with two accounts.
func sampleStatus() Status {
	temp := 48.25
	return Status{
		Connection:       StateConnected,
		ConnectionDetail: "registered 2 min ago",
		WorkerID:         "tw-test",
		WorkerName:       "Kitchen Pi",
		MasterURL:        "https://master.example",
		Accounts: []AccountStatus{
			{AccountID: "acc-1001", Platform: "douyin", State: "running",
				LastPoll: time.Date(2025, 6, 1, 11, 59, 48, 0, time.UTC), LastResult: "2 new comments"},
			{AccountID: "acc-1002", Platform: "douyin", State: "login_required",
				LastPoll: time.Date(2025, 6, 1, 11, 55, 0, 0, time.UTC), LastResult: "no data", LastError: "cookie expired"},
		},
		System: SystemInfo{
			CPUPercent: 12.5, MemoryMB: 431, SystemMemoryUsedMB: 1200, SystemMemoryTotalMB: 3800,
			TemperatureC: &temp, DiskFreeMB: 20480, Uptime: 26*time.Hour + 5*time.Minute,
		},
		OutboxDepth: 3,
		LogLines:    []string{"2025-06-01 11:59:00 INFO connected master=https://master.example"},
	}
}

// client is a browser-like HTTP client with cookies that does not follow
// redirects, so tests see every status.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

// newClient returns a client of e.
func (e *env) newClient(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &client{t: t, base: e.base, http: &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// response is a read answer.
type response struct {
	status int
	header http.Header
	body   string
	resp   *http.Response
}

// do sends a request.
func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b), resp: resp}
}

// get fetches path.
func (c *client) get(path string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	require.NoError(c.t, err)
	return c.do(req)
}

// post sends form to path; headers are added as given.
func (c *client) post(path string, form url.Values, headers ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

// csrfPattern finds the CSRF token of a page's form.
var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the CSRF token in a page.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfPattern.FindStringSubmatch(body)
	require.NotNil(t, m, "page has no csrf field:\n%s", body)
	return m[1]
}

// cookie returns the named cookie the client holds for the server.
func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// enterCode passes the wizard's first step.
func (c *client) enterCode(code string) response {
	c.t.Helper()
	page := c.get(pathSetup)
	require.Equal(c.t, http.StatusOK, page.status)
	return c.post(pathSetupCode, url.Values{"csrf": {csrfOf(c.t, page.body)}, "code": {code}})
}

// login signs in with password.
func (c *client) login(password string) response {
	c.t.Helper()
	page := c.get(pathLogin)
	require.Equal(c.t, http.StatusOK, page.status)
	return c.post(pathLogin, url.Values{"csrf": {csrfOf(c.t, page.body)}, "password": {password}})
}

// validSetupForm is a correct wizard form.
func validSetupForm(csrf string) url.Values {
	return url.Values{
		"csrf":             {csrf},
		"password":         {testPassword},
		"password_confirm": {testPassword},
		"master_url":       {"https://master.example:8443"},
		"token":            {testToken},
		"worker_name":      {"Garage Pi"},
		"max_accounts":     {"7"},
	}
}

// setCookieHeader returns the Set-Cookie line of name.
func setCookieHeader(h http.Header, name string) string {
	for _, v := range h.Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			return v
		}
	}
	return ""
}
