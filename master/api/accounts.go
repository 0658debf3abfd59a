package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
)

// Monitor interval bounds (seconds).
const (
	minMonitorInterval = 5
	maxMonitorInterval = 24 * 60 * 60
)

// accountView is an account as the API shows it. It has no credentials
// field: they go in and never come out.
type accountView struct {
	ID                   string `json:"id"`
	Platform             string `json:"platform"`
	AccountID            string `json:"account_id"`
	AccountName          string `json:"account_name"`
	OwnerID              string `json:"owner_id"`
	Status               string `json:"status"`
	ErrorMessage         string `json:"error_message"`
	WorkerID             string `json:"worker_id"`
	MonitorInterval      int    `json:"monitor_interval"`
	HasCredentials       bool   `json:"has_credentials"`
	CredentialsUpdatedAt *int64 `json:"credentials_updated_at"`
	CredentialsExpiresAt *int64 `json:"credentials_expires_at"`
	CreatedAt            int64  `json:"created_at"`
	UpdatedAt            int64  `json:"updated_at"`
}

// accountViewOf converts a stored account. The status is the one clients
// see in master:account:update, so a runnable account no worker has shows
// as "unassigned".
func accountViewOf(a store.Account) accountView {
	return accountView{
		ID:                   a.ID,
		Platform:             a.Platform,
		AccountID:            a.PlatformAccountID,
		AccountName:          a.Name,
		OwnerID:              a.OwnerID,
		Status:               hub.AccountUpdateOf(a).Status,
		ErrorMessage:         a.ErrorMessage,
		WorkerID:             a.WorkerID,
		MonitorInterval:      a.MonitorInterval,
		HasCredentials:       a.HasCredentials,
		CredentialsUpdatedAt: unixOrNil(a.CredentialsUpdatedAt),
		CredentialsExpiresAt: unixOrNil(a.CredentialsExpiresAt),
		CreatedAt:            unix(a.CreatedAt),
		UpdatedAt:            unix(a.UpdatedAt),
	}
}

// accountList is the body of GET /accounts.
type accountList struct {
	Accounts []accountView `json:"accounts"`
}

// handleListAccounts lists the accounts the caller may see.
func (a *api) handleListAccounts(c echo.Context, v store.Viewer) error {
	accs, err := a.st.ListAccounts(c.Request().Context(), v)
	if err != nil {
		return fmt.Errorf("listing accounts: %w", err)
	}
	out := accountList{Accounts: make([]accountView, 0, len(accs))}
	for _, acc := range accs {
		out.Accounts = append(out.Accounts, accountViewOf(acc))
	}
	return c.JSON(http.StatusOK, out)
}

// createAccountRequest is the body of POST /accounts.
type createAccountRequest struct {
	Platform    string `json:"platform"`
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	// Credentials is the cookie jar: any JSON value; a JSON string is
	// stored as its text.
	Credentials          json.RawMessage `json:"credentials"`
	CredentialsExpiresAt *int64          `json:"credentials_expires_at"`
	MonitorInterval      *int            `json:"monitor_interval"`
	OwnerID              *string         `json:"owner_id"`
}

// handleCreateAccount adds an account and hands it to the fleet.
func (a *api) handleCreateAccount(c echo.Context, v store.Viewer) error {
	var req createAccountRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Platform != protocol.PlatformDouyin {
		return badRequest("platform must be %q", protocol.PlatformDouyin)
	}
	if err := checkText("account_id", req.AccountID, maxIDLen, true); err != nil {
		return err
	}
	if err := checkText("account_name", req.AccountName, maxNameLen, false); err != nil {
		return err
	}
	if req.AccountName == "" {
		// Notifications and the dashboard show the name; the platform id
		// is better than nothing.
		req.AccountName = req.AccountID
	}
	interval := store.DefaultMonitorInterval
	if req.MonitorInterval != nil {
		interval = *req.MonitorInterval
	}
	if err := checkInterval(interval); err != nil {
		return err
	}
	creds, err := credentialsOf(req.Credentials, false)
	if err != nil {
		return err
	}
	expires, err := expiryOf(req.CredentialsExpiresAt)
	if err != nil {
		return err
	}
	owner := v.UserID
	if req.OwnerID != nil && *req.OwnerID != v.UserID {
		if !v.Admin {
			return errorf(http.StatusForbidden, codeForbidden, "only an admin may create an account for another user")
		}
		owner = *req.OwnerID
	}

	ctx := c.Request().Context()
	acc, err := a.st.CreateAccount(ctx, store.Account{
		OwnerID:              owner,
		Platform:             req.Platform,
		PlatformAccountID:    req.AccountID,
		Name:                 req.AccountName,
		MonitorInterval:      interval,
		CredentialsExpiresAt: expires,
	}, creds)
	switch {
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, codeConflict, "%s account %q is already monitored", req.Platform, req.AccountID)
	case errors.Is(err, store.ErrNotFound):
		return badRequest("owner_id names no user")
	case err != nil:
		return fmt.Errorf("creating account: %w", err)
	}
	a.log.InfoContext(ctx, "account created", "account_id", acc.ID, "owner_id", acc.OwnerID, "by", v.UserID)
	acc = a.accountChanged(ctx, acc)
	return c.JSON(http.StatusCreated, accountViewOf(acc))
}

// accountChanged tells the fleet and returns the account as it is after
// that (the fleet may have assigned it). A fleet failure is logged, not
// returned: the change is stored and the hub's sweep places it later.
func (a *api) accountChanged(ctx context.Context, acc store.Account) store.Account {
	if err := a.fleet.AccountChanged(ctx, acc.ID); err != nil {
		a.log.WarnContext(ctx, "telling the fleet about an account", "account_id", acc.ID, "err", err)
		return acc
	}
	if fresh, err := a.st.GetAccount(ctx, acc.ID); err == nil {
		return fresh
	}
	return acc
}

// visibleAccount returns the account with id if v may see it; otherwise
// the same 404 as for an unknown id.
func (a *api) visibleAccount(ctx context.Context, v store.Viewer, id string) (store.Account, error) {
	acc, err := a.st.GetAccount(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, accountNotFound()
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("reading account: %w", err)
	}
	if !v.Admin && (acc.OwnerID == "" || acc.OwnerID != v.UserID) {
		return store.Account{}, accountNotFound()
	}
	return acc, nil
}

// handleGetAccount shows one account.
func (a *api) handleGetAccount(c echo.Context, v store.Viewer) error {
	id, err := pathID(c, "account")
	if err != nil {
		return err
	}
	acc, err := a.visibleAccount(c.Request().Context(), v, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, accountViewOf(acc))
}

// patchAccountRequest is the body of PATCH /accounts/{id}; absent fields
// stay as they are.
type patchAccountRequest struct {
	Status               *string         `json:"status"`
	MonitorInterval      *int            `json:"monitor_interval"`
	AccountName          *string         `json:"account_name"`
	Credentials          json.RawMessage `json:"credentials"`
	CredentialsExpiresAt *int64          `json:"credentials_expires_at"`
}

// handlePatchAccount pauses, resumes, renames or re-credentials an account.
// New credentials on an account in error put it back to active, since the
// error it was in is almost always expired credentials.
func (a *api) handlePatchAccount(c echo.Context, v store.Viewer) error {
	id, err := pathID(c, "account")
	if err != nil {
		return err
	}
	var req patchAccountRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Status != nil && *req.Status != store.AccountActive && *req.Status != store.AccountPaused {
		return badRequest("status must be %q or %q", store.AccountActive, store.AccountPaused)
	}
	if req.MonitorInterval != nil {
		if err := checkInterval(*req.MonitorInterval); err != nil {
			return err
		}
	}
	if req.AccountName != nil {
		if err := checkText("account_name", *req.AccountName, maxNameLen, false); err != nil {
			return err
		}
	}
	var creds []byte
	if req.Credentials != nil {
		if creds, err = credentialsOf(req.Credentials, true); err != nil {
			return err
		}
	}
	expires, err := expiryOf(req.CredentialsExpiresAt)
	if err != nil {
		return err
	}
	if expires != nil && creds == nil {
		return badRequest("credentials_expires_at can only be sent with credentials")
	}
	if req.Status == nil && req.MonitorInterval == nil && req.AccountName == nil && creds == nil {
		return badRequest("nothing to change: send status, monitor_interval, account_name or credentials")
	}

	ctx := c.Request().Context()
	acc, err := a.visibleAccount(ctx, v, id)
	if err != nil {
		return err
	}
	patch := store.AccountPatch{Status: req.Status, MonitorInterval: req.MonitorInterval, Name: req.AccountName}
	if creds != nil {
		if err := a.st.SetAccountCredentials(ctx, id, creds, expires); err != nil {
			return a.accountWriteError(err)
		}
		if patch.Status == nil && acc.Status == store.AccountError {
			active := store.AccountActive
			patch.Status = &active
		}
	}
	acc, err = a.st.UpdateAccount(ctx, id, patch)
	if err != nil {
		return a.accountWriteError(err)
	}
	a.log.InfoContext(ctx, "account updated", "account_id", id, "by", v.UserID, "credentials", creds != nil)
	acc = a.accountChanged(ctx, acc)
	return c.JSON(http.StatusOK, accountViewOf(acc))
}

// accountWriteError maps a store error of a write to an account that was
// visible a moment ago (it may have been deleted since).
func (a *api) accountWriteError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return accountNotFound()
	}
	return fmt.Errorf("updating account: %w", err)
}

// handleDeleteAccount removes an account, then revokes it from its worker
// and tells the users who could see it.
func (a *api) handleDeleteAccount(c echo.Context, v store.Viewer) error {
	id, err := pathID(c, "account")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	acc, err := a.visibleAccount(ctx, v, id)
	if err != nil {
		return err
	}
	viewers, err := a.st.AccountViewers(ctx, id)
	if err != nil {
		return a.accountWriteError(err)
	}
	if err := a.st.DeleteAccount(ctx, id); err != nil {
		return a.accountWriteError(err)
	}
	a.log.InfoContext(ctx, "account deleted", "account_id", id, "by", v.UserID)
	a.fleet.AccountDeleted(acc, viewers)
	return c.NoContent(http.StatusNoContent)
}

// checkInterval checks a monitor interval in seconds.
func checkInterval(n int) error {
	if n < minMonitorInterval || n > maxMonitorInterval {
		return badRequest("monitor_interval must be between %d and %d seconds, not %d",
			minMonitorInterval, maxMonitorInterval, n)
	}
	return nil
}

// credentialsOf turns the credentials field into the bytes to store: a
// JSON string is stored as its text (a cookie header, or JSON sent as a
// string), any other value as its JSON. Absent or null means none, which is
// refused when required.
func credentialsOf(raw json.RawMessage, required bool) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		if required {
			return nil, badRequest("credentials must not be null or empty")
		}
		return nil, nil
	}
	b := []byte(raw)
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest("credentials is not a valid JSON string")
		}
		b = []byte(s)
	}
	switch {
	case len(bytes.TrimSpace(b)) == 0:
		if required {
			return nil, badRequest("credentials must not be null or empty")
		}
		return nil, nil
	case len(b) > maxCredentialsLen:
		return nil, badRequest("credentials is longer than %d bytes", maxCredentialsLen)
	}
	return b, nil
}

// expiryOf converts an optional credentials expiry (Unix seconds or
// milliseconds).
func expiryOf(v *int64) (*time.Time, error) {
	if v == nil || *v == 0 {
		return nil, nil
	}
	if *v < 0 {
		return nil, badRequest("credentials_expires_at must be a Unix time")
	}
	t := time.Unix(protocol.NormalizeUnix(*v), 0).UTC()
	return &t, nil
}
