// Package api is the master's REST API under /api/v1, plus /healthz and
// /metrics. Users log in for a JWT and manage the accounts they can see;
// admins also manage users, worker enrollment tokens and workers.
//
// Every route is declared in one table (routes) with its access level. Every
// handler returns an error, and exactly one function, renderError, turns
// errors into the JSON body {"error":{"code":"...","message":"..."}} with a
// 4xx or 5xx status. A user only ever sees the accounts (and the
// notifications of accounts) they own; someone else's account answers 404,
// not 403, so ids do not leak. Credentials go in and never come out.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/master/metrics"
	"github.com/tidewatch/tidewatch/master/store"
	"golang.org/x/time/rate"
)

// Defaults of Config.
const (
	// DefaultLoginRate lets one IP address try five logins a minute.
	DefaultLoginRate = rate.Limit(5.0 / 60.0)
	// DefaultLoginBurst is how many logins one IP address may try at once.
	DefaultLoginBurst = 5
	// DefaultBodyLimit bounds a request body (bytes). Credentials are the
	// largest thing anyone sends and stay far below it.
	DefaultBodyLimit = 256 << 10
)

// Prefix is the path prefix of every versioned route.
const Prefix = "/api/v1"

// Fleet is what the API needs of the Socket.IO hub: telling workers and
// clients about account changes, draining workers, and the live view.
// *hub.Hub implements it.
type Fleet interface {
	// AccountChanged (re)assigns or revokes an account after it was created
	// or patched and tells its viewers.
	AccountChanged(ctx context.Context, accountID string) error
	// AccountDeleted revokes a deleted account and tells the users who could
	// see it; a is the account as it was, viewers read before deletion.
	AccountDeleted(a store.Account, viewers []string)
	// ShutdownWorker drains a worker; hub.ErrWorkerOffline if it is not
	// connected.
	ShutdownWorker(ctx context.Context, workerID, reason string, grace time.Duration) error
	Logins
	// TokenRevoked disconnects the workers enrolled with a revoked token.
	TokenRevoked(ctx context.Context, tokenID string)
	// WorkerLive returns the live state of a worker.
	WorkerLive(id string) hub.WorkerLive
	// ClientsConnected returns the number of connected client devices.
	ClientsConnected() int
}

// type check
var _ Fleet = (*hub.Hub)(nil)

// Config configures Register.
type Config struct {
	// Store holds users, accounts, tokens and notifications; must not be nil.
	Store *store.Store
	// Fleet is told about account changes; must not be nil.
	Fleet Fleet
	// Issuer issues and verifies login tokens; must not be nil.
	Issuer *auth.Issuer
	// Metrics is served at /metrics; must not be nil.
	Metrics *metrics.Metrics
	// Logger must not be nil.
	Logger *slog.Logger
	// Version is reported by /healthz.
	Version string

	// LoginRate is the sustained rate of login attempts allowed per client
	// IP address; zero means DefaultLoginRate.
	LoginRate rate.Limit
	// LoginBurst is how many login attempts one IP address may make at
	// once; zero means DefaultLoginBurst.
	LoginBurst int
	// BodyLimit bounds request bodies in bytes; zero means DefaultBodyLimit.
	BodyLimit int64
	// PasswordCost is the bcrypt cost of passwords set through the API;
	// zero means auth.DefaultBcryptCost. Tests lower it.
	PasswordCost int
	// ClientIP returns the address a request is rate limited by. Nil means
	// the TCP peer address, which is right unless a reverse proxy sits in
	// front; then pass e.g. echo.ExtractIPFromXFFHeader with the proxy's
	// range trusted. Headers are never trusted by default, so a client
	// cannot dodge the login limit by inventing X-Forwarded-For.
	ClientIP echo.IPExtractor
	// Now is the clock of the login limiter; nil means time.Now.
	Now func() time.Time
}

// api holds the configured handlers.
type api struct {
	st        *store.Store
	fleet     Fleet
	issuer    *auth.Issuer
	metrics   http.Handler
	log       *slog.Logger
	version   string
	bodyLimit int64
	pwCost    int
	clientIP  echo.IPExtractor
	logins    *limiter

	// dummyHash is checked against when a login names an unknown user, so
	// that a wrong username costs as long as a wrong password.
	dummyHash string
}

// access says who may call a route.
type access int

// Access levels.
const (
	// accessPublic routes need no login.
	accessPublic access = iota
	// accessUser routes need any logged-in user.
	accessUser
	// accessAdmin routes need an admin.
	accessAdmin
)

// handlerFunc is an API handler. v is the caller (zero on public routes).
type handlerFunc func(c echo.Context, v store.Viewer) error

// route is one entry of the routing table.
type route struct {
	method string
	path   string
	access access
	h      handlerFunc
}

// routes is the routing table: every endpoint the API serves.
func (a *api) routes() []route {
	return []route{
		{http.MethodGet, "/healthz", accessPublic, a.handleHealth},
		{http.MethodGet, "/metrics", accessPublic, a.handleMetrics},
		{http.MethodPost, Prefix + "/auth/login", accessPublic, a.handleLogin},

		{http.MethodGet, Prefix + "/accounts", accessUser, a.handleListAccounts},
		{http.MethodPost, Prefix + "/accounts", accessUser, a.handleCreateAccount},
		{http.MethodGet, Prefix + "/accounts/:id", accessUser, a.handleGetAccount},
		{http.MethodPatch, Prefix + "/accounts/:id", accessUser, a.handlePatchAccount},
		{http.MethodDelete, Prefix + "/accounts/:id", accessUser, a.handleDeleteAccount},
		{http.MethodPost, Prefix + "/accounts/:id/login", accessUser, a.handleStartLogin},
		{http.MethodGet, Prefix + "/login-sessions/:id", accessUser, a.handleGetLogin},
		{http.MethodDelete, Prefix + "/login-sessions/:id", accessUser, a.handleCancelLogin},

		{http.MethodGet, Prefix + "/notifications", accessUser, a.handleListNotifications},

		{http.MethodGet, Prefix + "/workers", accessAdmin, a.handleListWorkers},
		{http.MethodPost, Prefix + "/workers/:id/shutdown", accessAdmin, a.handleShutdownWorker},

		{http.MethodGet, Prefix + "/worker-tokens", accessAdmin, a.handleListTokens},
		{http.MethodPost, Prefix + "/worker-tokens", accessAdmin, a.handleCreateToken},
		{http.MethodDelete, Prefix + "/worker-tokens/:id", accessAdmin, a.handleRevokeToken},

		{http.MethodGet, Prefix + "/users", accessAdmin, a.handleListUsers},
		{http.MethodPost, Prefix + "/users", accessAdmin, a.handleCreateUser},
	}
}

// Register adds every route to e. It also installs the API's error handler
// as e.HTTPErrorHandler, so unknown paths and wrong methods answer in the
// same JSON shape as everything else.
func Register(e *echo.Echo, cfg *Config) error {
	if e == nil || cfg == nil {
		return errors.New("api: echo and config are required")
	}
	if cfg.Store == nil || cfg.Fleet == nil || cfg.Issuer == nil || cfg.Metrics == nil || cfg.Logger == nil {
		return errors.New("api: store, fleet, issuer, metrics and logger are required")
	}
	a := &api{
		st:        cfg.Store,
		fleet:     cfg.Fleet,
		issuer:    cfg.Issuer,
		metrics:   cfg.Metrics.Handler(),
		log:       cfg.Logger.With("component", "api"),
		version:   cfg.Version,
		bodyLimit: cfg.BodyLimit,
		pwCost:    cfg.PasswordCost,
		clientIP:  cfg.ClientIP,
	}
	if a.bodyLimit <= 0 {
		a.bodyLimit = DefaultBodyLimit
	}
	if a.pwCost <= 0 {
		a.pwCost = auth.DefaultBcryptCost
	}
	if a.clientIP == nil {
		a.clientIP = echo.ExtractIPDirect()
	}
	lr, lb := cfg.LoginRate, cfg.LoginBurst
	if lr <= 0 {
		lr = DefaultLoginRate
	}
	if lb <= 0 {
		lb = DefaultLoginBurst
	}
	a.logins = newLimiter(lr, lb, cfg.Now)

	// The dummy password is random and never stored, so nothing can match
	// it; only its hashing cost matters.
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h, err := auth.HashPasswordCost(hex.EncodeToString(b), a.pwCost)
	if err != nil {
		return fmt.Errorf("api: preparing login: %w", err)
	}
	a.dummyHash = h

	e.HTTPErrorHandler = a.renderError
	for _, r := range a.routes() {
		e.Add(r.method, r.path, a.wrap(r))
	}
	return nil
}
