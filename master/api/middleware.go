package api

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tidewatch/tidewatch/master/store"
)

// wrap turns a table entry into an echo handler: it recovers panics, bounds
// the request body and authenticates the caller as the route demands.
func (a *api) wrap(r route) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				a.log.ErrorContext(c.Request().Context(), "recovered panic", "method", r.method, "path", r.path,
					"panic", p, "stack", string(debug.Stack()))
				err = fmt.Errorf("panic in %s %s", r.method, r.path)
			}
		}()
		req := c.Request()
		if req.ContentLength > a.bodyLimit {
			return &http.MaxBytesError{Limit: a.bodyLimit}
		}
		req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, a.bodyLimit)

		var v store.Viewer
		if r.access != accessPublic {
			if v, err = a.authenticate(c); err != nil {
				return err
			}
			if r.access == accessAdmin && !v.Admin {
				return forbidden()
			}
		}
		return r.h(c, v)
	}
}

// authenticate verifies the bearer token and returns the caller. The user
// must still exist, and the admin flag is read from the store, not from the
// token, so deleting or demoting a user takes effect at once.
func (a *api) authenticate(c echo.Context) (store.Viewer, error) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return store.Viewer{}, unauthorized()
	}
	claims, err := a.issuer.Verify(tok)
	if err != nil {
		return store.Viewer{}, unauthorized()
	}
	u, err := a.st.GetUser(c.Request().Context(), claims.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Viewer{}, unauthorized()
	}
	if err != nil {
		return store.Viewer{}, fmt.Errorf("reading user: %w", err)
	}
	return store.Viewer{UserID: u.ID, Admin: u.Admin}, nil
}
