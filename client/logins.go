package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// LoginSession is a QR login of an account, as the master reports it.
type LoginSession struct {
	ID           string `json:"session_id"`
	AccountID    string `json:"account_id"`
	WorkerID     string `json:"worker_id"`
	Status       string `json:"status"`
	QRCodeData   string `json:"qr_code_data"`
	QRUpdates    int    `json:"qr_updates"`
	ErrorType    string `json:"error_type"`
	ErrorMessage string `json:"error_message"`
	UserInfo     *struct {
		Nickname string `json:"nickname"`
		UID      string `json:"uid"`
		Avatar   string `json:"avatar"`
	} `json:"user_info"`
}

// StartLogin asks the master to log an account in by QR code.
func (a *API) StartLogin(ctx context.Context, accountID string) (*LoginSession, error) {
	var s LoginSession
	if err := a.do(ctx, http.MethodPost, "/api/v1/accounts/"+url.PathEscape(accountID)+"/login", nil, &s); err != nil {
		return nil, fmt.Errorf("starting the login: %w", err)
	}
	return &s, nil
}

// Login reads a login session's progress.
func (a *API) Login(ctx context.Context, id string) (*LoginSession, error) {
	var s LoginSession
	if err := a.do(ctx, http.MethodGet, "/api/v1/login-sessions/"+url.PathEscape(id), nil, &s); err != nil {
		return nil, fmt.Errorf("reading the login: %w", err)
	}
	return &s, nil
}

// CancelLogin cancels a login session.
func (a *API) CancelLogin(ctx context.Context, id string) error {
	if err := a.do(ctx, http.MethodDelete, "/api/v1/login-sessions/"+url.PathEscape(id), nil, nil); err != nil {
		return fmt.Errorf("cancelling the login: %w", err)
	}
	return nil
}
