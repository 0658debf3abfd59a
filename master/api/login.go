package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/master/store"
)

// Logins is the part of the fleet that runs QR logins.
type Logins interface {
	StartLogin(ctx context.Context, accountID, userID string) (hub.LoginSession, error)
	Login(id string) (hub.LoginSession, bool)
	CancelLogin(ctx context.Context, id string) (hub.LoginSession, error)
}

// handleStartLogin asks an appliance to open a QR login for an account the
// viewer can see; the client then polls the session or listens for
// master:login:update.
func (a *api) handleStartLogin(c echo.Context, v store.Viewer) error {
	id, err := pathID(c, "account")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := a.visibleAccount(ctx, v, id); err != nil {
		return err
	}
	s, err := a.fleet.StartLogin(ctx, id, v.UserID)
	switch {
	case errors.Is(err, hub.ErrNoWorker):
		return errorf(http.StatusConflict, codeWorkerOffline, "no appliance that can log in to this platform is online")
	case errors.Is(err, hub.ErrAccountMissing):
		return accountNotFound()
	case err != nil:
		return fmt.Errorf("starting login: %w", err)
	}
	return c.JSON(http.StatusAccepted, s)
}

// visibleLogin returns a login session on an account the viewer can see.
func (a *api) visibleLogin(c echo.Context, v store.Viewer) (hub.LoginSession, error) {
	id, err := pathID(c, "login session")
	if err != nil {
		return hub.LoginSession{}, err
	}
	s, ok := a.fleet.Login(id)
	if !ok {
		return s, errorf(http.StatusNotFound, codeNotFound, "no such login session")
	}
	if _, err := a.visibleAccount(c.Request().Context(), v, s.AccountID); err != nil {
		return s, errorf(http.StatusNotFound, codeNotFound, "no such login session")
	}
	return s, nil
}

// handleGetLogin shows a login session: its status and latest QR.
func (a *api) handleGetLogin(c echo.Context, v store.Viewer) error {
	s, err := a.visibleLogin(c, v)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, s)
}

// handleCancelLogin cancels a login session.
func (a *api) handleCancelLogin(c echo.Context, v store.Viewer) error {
	s, err := a.visibleLogin(c, v)
	if err != nil {
		return err
	}
	s, err = a.fleet.CancelLogin(c.Request().Context(), s.ID)
	switch {
	case errors.Is(err, hub.ErrLoginFinished):
		return errorf(http.StatusConflict, codeConflict, "the login session has already finished")
	case errors.Is(err, hub.ErrLoginNotFound):
		return errorf(http.StatusNotFound, codeNotFound, "no such login session")
	case err != nil:
		return fmt.Errorf("cancelling login: %w", err)
	}
	return c.JSON(http.StatusOK, s)
}
