package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/master/store"
)

// loginRequest is the body of POST /auth/login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// loginResponse answers a successful login.
type loginResponse struct {
	Token     string   `json:"token"`
	ExpiresAt int64    `json:"expires_at"`
	User      userView `json:"user"`
}

// handleLogin exchanges a username and password for a session token. Every
// attempt, good or bad, counts against the caller's address, and an unknown
// username costs one bcrypt comparison like a wrong password does.
func (a *api) handleLogin(c echo.Context, _ store.Viewer) error {
	if ok, wait := a.logins.allow(a.clientIP(c.Request())); !ok {
		he := errorf(http.StatusTooManyRequests, codeRateLimited, "too many login attempts; try again later")
		he.retryAfter = retryAfterSeconds(wait)
		return he
	}
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return badRequest("username and password are required")
	}
	ctx := c.Request().Context()
	u, hash, err := a.st.UserByUsername(ctx, req.Username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		auth.CheckPassword(a.dummyHash, req.Password)
		return errorf(http.StatusUnauthorized, codeAuthFailed, "wrong username or password")
	case err != nil:
		return fmt.Errorf("reading user: %w", err)
	case !auth.CheckPassword(hash, req.Password):
		return errorf(http.StatusUnauthorized, codeAuthFailed, "wrong username or password")
	}
	tok, exp, err := a.issuer.Issue(u.ID, u.Admin)
	if err != nil {
		return fmt.Errorf("issuing token: %w", err)
	}
	a.log.InfoContext(ctx, "user logged in", "user_id", u.ID)
	return c.JSON(http.StatusOK, loginResponse{Token: tok, ExpiresAt: exp.Unix(), User: userViewOf(u)})
}

// healthResponse is the body of /healthz.
type healthResponse struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

// handleHealth answers ok when the database answers a cheap query.
func (a *api) handleHealth(c echo.Context, _ store.Viewer) error {
	if _, err := a.st.CountUsers(c.Request().Context()); err != nil {
		a.log.ErrorContext(c.Request().Context(), "health check", "err", err)
		return errorf(http.StatusServiceUnavailable, codeUnavailable, "database is not answering")
	}
	return c.JSON(http.StatusOK, healthResponse{Status: "ok", Version: a.version})
}

// handleMetrics serves the Prometheus figures.
func (a *api) handleMetrics(c echo.Context, _ store.Viewer) error {
	a.metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}
