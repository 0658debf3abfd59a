package api

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master/hub"
)

func TestLoginRoutes(t *testing.T) {
	e := newEnv(t)
	_, xTok := e.user("xavier", false)
	_, yTok := e.user("yolanda", false)
	xa := e.createAccount(xTok, map[string]any{"platform": "douyin", "account_id": "x1"})

	var mu sync.Mutex
	sessions := map[string]hub.LoginSession{}
	noWorker := false
	e.fleet.OnStartLogin = func(_ context.Context, accountID, userID string) (hub.LoginSession, error) {
		mu.Lock()
		defer mu.Unlock()
		if noWorker {
			return hub.LoginSession{}, hub.ErrNoWorker
		}
		s := hub.LoginSession{ID: "login-1", AccountID: accountID, UserID: userID, Status: "qr_ready", QRCodeData: "data:image/png;base64,AAAA"}
		sessions[s.ID] = s
		return s, nil
	}
	e.fleet.OnLogin = func(id string) (hub.LoginSession, bool) {
		mu.Lock()
		defer mu.Unlock()
		s, ok := sessions[id]
		return s, ok
	}
	e.fleet.OnCancelLogin = func(_ context.Context, id string) (hub.LoginSession, error) {
		mu.Lock()
		defer mu.Unlock()
		s := sessions[id]
		if s.Status == "cancelled" {
			return s, hub.ErrLoginFinished
		}
		s.Status = "cancelled"
		sessions[id] = s
		return s, nil
	}

	res := e.do(http.MethodPost, "/api/v1/accounts/"+xa.ID+"/login", xTok, nil)
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	var s struct {
		SessionID  string `json:"session_id"`
		Status     string `json:"status"`
		QRCodeData string `json:"qr_code_data"`
	}
	res.decode(t, &s)
	assert.Equal(t, "login-1", s.SessionID)

	tests := []struct {
		name, method, path, token string
		want                      int
		wantCode                  string
	}{
		{"other user's account", http.MethodPost, "/api/v1/accounts/" + xa.ID + "/login", yTok, 404, "ERR_ACCOUNT_NOT_FOUND"},
		{"other user's session", http.MethodGet, "/api/v1/login-sessions/login-1", yTok, 404, "ERR_NOT_FOUND"},
		{"unknown session", http.MethodGet, "/api/v1/login-sessions/login-9", xTok, 404, "ERR_NOT_FOUND"},
		{"own session", http.MethodGet, "/api/v1/login-sessions/login-1", xTok, 200, ""},
		{"cancel", http.MethodDelete, "/api/v1/login-sessions/login-1", xTok, 200, ""},
		{"cancel again", http.MethodDelete, "/api/v1/login-sessions/login-1", xTok, 409, "ERR_CONFLICT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(tt.method, tt.path, tt.token, nil)
			assert.Equal(t, tt.want, res.status, "%s", res.body)
			assert.Equal(t, tt.wantCode, res.errCode())
		})
	}
	mu.Lock()
	noWorker = true
	mu.Unlock()
	res = e.do(http.MethodPost, "/api/v1/accounts/"+xa.ID+"/login", xTok, nil)
	assert.Equal(t, http.StatusConflict, res.status)
	assert.Equal(t, "ERR_WORKER_OFFLINE", res.errCode())
}
