package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/tidewatch/tidewatch/protocol"
)

// DefaultHTTPTimeout bounds one REST call when no http.Client is given.
const DefaultHTTPTimeout = 30 * time.Second

// maxResponseBytes bounds a REST answer read into memory.
const maxResponseBytes = 8 << 20

// User is the logged-in user as the master describes it.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Admin    bool   `json:"admin"`
}

// LoginResult is the answer of a successful login.
type LoginResult struct {
	// Token is the session token (a JWT) for the API and client:connect.
	// It is a secret.
	Token string
	// ExpiresAt is when the token stops working.
	ExpiresAt time.Time
	// User is who logged in.
	User User
}

// Account is a monitored platform account as GET /api/v1/accounts lists it.
type Account struct {
	ID                string `json:"id"`
	Platform          string `json:"platform"`
	PlatformAccountID string `json:"account_id"`
	Name              string `json:"account_name"`
	OwnerID           string `json:"owner_id"`
	Status            string `json:"status"`
	ErrorMessage      string `json:"error_message"`
	WorkerID          string `json:"worker_id"`
	MonitorInterval   int    `json:"monitor_interval"`
	HasCredentials    bool   `json:"has_credentials"`
	CreatedAt         int64  `json:"created_at"`
	UpdatedAt         int64  `json:"updated_at"`
}

// Worker is an appliance as GET /api/v1/workers lists it (admins only).
// Times are Unix seconds, 0 for never.
type Worker struct {
	ID              string   `json:"id"`
	Host            string   `json:"host"`
	Port            int      `json:"port"`
	Version         string   `json:"version"`
	Capabilities    []string `json:"capabilities"`
	MaxAccounts     int      `json:"max_accounts"`
	Status          string   `json:"status"`
	Connected       bool     `json:"connected"`
	ConnectedAt     int64    `json:"connected_at"`
	LastSeenAt      int64    `json:"last_seen_at"`
	LastHeartbeatAt int64    `json:"last_heartbeat_at"`
	CPUUsage        float64  `json:"cpu_usage"`
	MemoryUsage     float64  `json:"memory_usage"`
	ActiveTasks     int      `json:"active_tasks"`
	Accounts        []string `json:"accounts"`
}

// Login exchanges a username and password for a session token. server is a
// master URL (see NormalizeServer); httpc nil means a client with
// DefaultHTTPTimeout.
func Login(ctx context.Context, httpc *http.Client, server, username, password string) (*LoginResult, error) {
	server, err := NormalizeServer(server)
	if err != nil {
		return nil, err
	}
	a := &API{Server: server, HTTP: httpc}
	var out struct {
		Token     string `json:"token"`
		ExpiresAt int64  `json:"expires_at"`
		User      User   `json:"user"`
	}
	body := map[string]string{"username": username, "password": password}
	if err := a.do(ctx, http.MethodPost, "/api/v1/auth/login", body, &out); err != nil {
		return nil, fmt.Errorf("logging in: %w", err)
	}
	if out.Token == "" {
		return nil, errors.New("logging in: the server answered without a token")
	}
	return &LoginResult{Token: out.Token, ExpiresAt: time.Unix(out.ExpiresAt, 0), User: out.User}, nil
}

// API calls the master's REST API with a session token.
type API struct {
	// Server is the master URL, normalized (see NormalizeServer).
	Server string
	// Token is the session token from Login.
	Token string
	// HTTP is the client requests go through; nil means one with
	// DefaultHTTPTimeout.
	HTTP *http.Client
}

// Accounts lists the accounts the user may see.
func (a *API) Accounts(ctx context.Context) ([]Account, error) {
	var out struct {
		Accounts []Account `json:"accounts"`
	}
	if err := a.do(ctx, http.MethodGet, "/api/v1/accounts", nil, &out); err != nil {
		return nil, fmt.Errorf("listing accounts: %w", err)
	}
	return out.Accounts, nil
}

// Workers lists every worker with its live state. It needs an admin;
// others get an error matching ErrForbidden.
func (a *API) Workers(ctx context.Context) ([]Worker, error) {
	var out struct {
		Workers []Worker `json:"workers"`
	}
	if err := a.do(ctx, http.MethodGet, "/api/v1/workers", nil, &out); err != nil {
		return nil, fmt.Errorf("listing workers: %w", err)
	}
	return out.Workers, nil
}

// do sends one JSON request and decodes the JSON answer into out.
func (a *API) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Server+path, rd)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	httpc := a.HTTP
	if httpc == nil {
		httpc = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	res, err := httpc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnreachableError{URL: a.Server, Err: netCause(err)}
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	if err != nil {
		return &UnreachableError{URL: a.Server, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	if res.StatusCode >= 300 {
		return apiError(res.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the server at %s answered something that is not Tidewatch JSON (is it a Tidewatch master?): %w", a.Server, err)
	}
	return nil
}

// apiError decodes the API's error body {"error":{"code","message"}}; a
// body of another shape (a proxy's error page) keeps the status alone.
func apiError(status int, raw []byte) *APIError {
	var body struct {
		Error struct {
			Code    protocol.Code `json:"code"`
			Message string        `json:"message"`
		} `json:"error"`
	}
	e := &APIError{Status: status}
	if json.Unmarshal(raw, &body) == nil {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// netCause strips the *url.Error wrapper, whose text repeats the method
// and URL, down to the network error that says what went wrong.
func netCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
