package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/master/store"
)

func TestWorkers(t *testing.T) {
	e := newEnv(t)
	_, tok := e.user("root", true)
	_, userTok := e.user("alice", false)
	ctx := context.Background()
	hbAt := e.clock.now()
	require.NoError(t, e.st.UpsertWorker(ctx, store.Worker{
		ID: "worker-001", TokenID: "wtk-1", Host: "192.168.1.100", Port: 4000, Version: "1.0.0",
		Capabilities: []string{"douyin"}, MaxAccounts: 10, LastHeartbeatAt: hbAt,
	}))
	require.NoError(t, e.st.RecordHeartbeat(ctx, "worker-001", store.WorkerOnline, 1, 150.5, 25.3,
		json.RawMessage(`{"system":{"disk_free_mb":1000}}`), hbAt))
	require.NoError(t, e.st.UpsertWorker(ctx, store.Worker{ID: "worker-002", Host: "10.0.0.2"}))
	a := e.createAccount(userTok, map[string]any{"platform": "douyin", "account_id": "a1"})
	require.NoError(t, e.st.SetAccountWorker(ctx, a.ID, "worker-001"))

	e.fleet.OnWorkerLive = func(id string) hub.WorkerLive {
		if id != "worker-001" {
			return hub.WorkerLive{}
		}
		return hub.WorkerLive{Online: true, Connected: true, History: []hub.HeartbeatSample{
			{At: hbAt, CPUUsage: 25.3, MemoryUsage: 150.5, ActiveTasks: 1},
		}}
	}
	e.fleet.OnClientsConnected = func() int { return 3 }

	res := e.do(http.MethodGet, "/api/v1/workers", tok, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var out workerList
	res.decode(t, &out)
	assert.Equal(t, 3, out.ClientsConnected)
	require.Len(t, out.Workers, 2)
	w := out.Workers[0]
	assert.Equal(t, "worker-001", w.ID)
	assert.Equal(t, "192.168.1.100", w.Host)
	assert.Equal(t, 4000, w.Port)
	assert.Equal(t, "1.0.0", w.Version)
	assert.Equal(t, []string{"douyin"}, w.Capabilities)
	assert.Equal(t, 10, w.MaxAccounts)
	assert.Equal(t, "online", w.Status)
	assert.True(t, w.Connected)
	assert.Equal(t, hbAt.Unix(), w.LastHeartbeatAt)
	assert.InDelta(t, 25.3, w.CPUUsage, 1e-9)
	assert.InDelta(t, 150.5, w.MemoryUsage, 1e-9)
	assert.Equal(t, 1, w.ActiveTasks)
	assert.JSONEq(t, `{"system":{"disk_free_mb":1000}}`, string(w.Extra))
	assert.Equal(t, []string{a.ID}, w.Accounts)
	require.Len(t, w.History, 1)
	assert.Equal(t, 1, w.History[0].ActiveTasks)

	w = out.Workers[1]
	assert.Equal(t, "offline", w.Status, "no socket: offline whatever the row says")
	assert.Equal(t, []string{}, w.Accounts)
	assert.Equal(t, []string{}, w.Capabilities)
	assert.Equal(t, []hub.HeartbeatSample{}, w.History)
}

func TestWorkerStatus(t *testing.T) {
	tests := []struct {
		name string
		row  string
		live hub.WorkerLive
		want string
	}{
		{"connected", "online", hub.WorkerLive{Online: true, Connected: true}, "online"},
		{"row says online, no socket", "online", hub.WorkerLive{}, "offline"},
		{"in grace", "online", hub.WorkerLive{Online: true}, "offline"},
		{"draining", "online", hub.WorkerLive{Online: true, Connected: true, Draining: true}, "draining"},
		{"empty row status", "", hub.WorkerLive{Online: true, Connected: true}, "online"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, workerStatus(store.Worker{Status: tt.row}, tt.live))
		})
	}
}

func TestShutdownWorker(t *testing.T) {
	e := newEnv(t)
	_, tok := e.user("root", true)
	require.NoError(t, e.st.UpsertWorker(context.Background(), store.Worker{ID: "worker-001"}))
	require.NoError(t, e.st.UpsertWorker(context.Background(), store.Worker{ID: "worker-off"}))

	type call struct {
		id, reason string
		grace      time.Duration
	}
	var (
		mu    sync.Mutex
		calls []call
	)
	e.fleet.OnShutdownWorker = func(_ context.Context, id, reason string, grace time.Duration) error {
		if id == "worker-off" {
			return hub.ErrWorkerOffline
		}
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, call{id, reason, grace})
		return nil
	}

	res := e.do(http.MethodPost, "/api/v1/workers/worker-001/shutdown", tok, nil)
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	var out shutdownResponse
	res.decode(t, &out)
	assert.Equal(t, shutdownResponse{WorkerID: "worker-001", GracefulTimeout: 30}, out)

	res = e.do(http.MethodPost, "/api/v1/workers/worker-001/shutdown", tok, `{"reason":"upgrade","graceful_timeout":5}`)
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)

	mu.Lock()
	assert.Equal(t, []call{{"worker-001", "", 30 * time.Second}, {"worker-001", "upgrade", 5 * time.Second}}, calls)
	mu.Unlock()

	tests := []struct {
		name, path, body string
		wantStatus       int
		wantCode         string
	}{
		{"offline", "/api/v1/workers/worker-off/shutdown", `{}`, 409, "ERR_WORKER_OFFLINE"},
		{"unknown", "/api/v1/workers/nobody/shutdown", `{}`, 404, "ERR_NOT_FOUND"},
		{"negative grace", "/api/v1/workers/worker-001/shutdown", `{"graceful_timeout":-1}`, 400, "ERR_INVALID_PAYLOAD"},
		{"huge grace", "/api/v1/workers/worker-001/shutdown", `{"graceful_timeout":86400}`, 400, "ERR_INVALID_PAYLOAD"},
		{"grace as string", "/api/v1/workers/worker-001/shutdown", `{"graceful_timeout":"5"}`, 400, "ERR_INVALID_PAYLOAD"},
		{"bad json", "/api/v1/workers/worker-001/shutdown", `{`, 400, "ERR_INVALID_PAYLOAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(http.MethodPost, tt.path, tok, tt.body)
			assert.Equal(t, tt.wantStatus, res.status, "%s", res.body)
			assert.Equal(t, tt.wantCode, res.errCode())
		})
	}
	mu.Lock()
	assert.Len(t, calls, 2, "refused requests reach no worker")
	mu.Unlock()
}

func TestWorkerTokens(t *testing.T) {
	e := newEnv(t)
	_, tok := e.user("root", true)
	ctx := context.Background()

	res := e.do(http.MethodPost, "/api/v1/worker-tokens", tok, map[string]string{"name": "living-room pi"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	var created newTokenView
	res.decode(t, &created)
	assert.Equal(t, "living-room pi", created.Name)
	assert.Equal(t, e.clock.now().Unix(), created.CreatedAt)
	require.NotEmpty(t, created.Token)
	e.forbid(created.Token)
	got, _, err := e.st.VerifyWorkerToken(ctx, created.Token)
	require.NoError(t, err, "the shown token enrolls a worker")
	assert.Equal(t, created.ID, got.ID)

	res = e.do(http.MethodGet, "/api/v1/worker-tokens", tok, nil)
	require.Equal(t, http.StatusOK, res.status)
	var list tokenList
	res.decode(t, &list)
	require.Len(t, list.Tokens, 1)
	assert.Equal(t, created.ID, list.Tokens[0].ID)
	assert.Nil(t, list.Tokens[0].RevokedAt)
	assert.NotNil(t, list.Tokens[0].LastUsedAt)

	assert.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/api/v1/worker-tokens/"+created.ID, tok, nil).status)
	_, _, err = e.st.VerifyWorkerToken(ctx, created.Token)
	assert.ErrorIs(t, err, store.ErrUnauthorized)
	e.rec.mu.Lock()
	assert.Equal(t, []string{created.ID}, e.rec.revoked, "workers on the token are cut off")
	e.rec.mu.Unlock()
	res = e.do(http.MethodGet, "/api/v1/worker-tokens", tok, nil)
	res.decode(t, &list)
	require.NotNil(t, list.Tokens[0].RevokedAt)
	assert.Equal(t, e.clock.now().Unix(), *list.Tokens[0].RevokedAt)

	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantCode                 string
	}{
		{"revoke unknown", http.MethodDelete, "/api/v1/worker-tokens/wtk-nope", "", 404, "ERR_NOT_FOUND"},
		{"no name", http.MethodPost, "/api/v1/worker-tokens", `{}`, 400, "ERR_INVALID_PAYLOAD"},
		{"long name", http.MethodPost, "/api/v1/worker-tokens", `{"name":"` + strings.Repeat("n", 300) + `"}`, 400, "ERR_INVALID_PAYLOAD"},
		{"bad json", http.MethodPost, "/api/v1/worker-tokens", `name=x`, 400, "ERR_INVALID_PAYLOAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			res := e.do(tt.method, tt.path, tok, body)
			assert.Equal(t, tt.wantStatus, res.status, "%s", res.body)
			assert.Equal(t, tt.wantCode, res.errCode())
		})
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t)
	e.forbid("new user password")
	root, tok := e.user("root", true)

	res := e.do(http.MethodPost, "/api/v1/users", tok, map[string]any{"username": "bob", "password": "new user password"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var bob userView
	res.decode(t, &bob)
	assert.Equal(t, "bob", bob.Username)
	assert.False(t, bob.Admin)
	assert.NotContains(t, string(res.body), "hash")

	res = e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"username": "bob", "password": "new user password"})
	assert.Equal(t, http.StatusOK, res.status, "the new user can log in")

	res = e.do(http.MethodPost, "/api/v1/users", tok, map[string]any{"username": "eve", "password": "another password", "admin": true})
	require.Equal(t, http.StatusCreated, res.status)
	var eve userView
	res.decode(t, &eve)
	assert.True(t, eve.Admin)

	res = e.do(http.MethodGet, "/api/v1/users", tok, nil)
	require.Equal(t, http.StatusOK, res.status)
	var list userList
	res.decode(t, &list)
	names := []string{}
	for _, u := range list.Users {
		names = append(names, u.Username)
	}
	assert.Equal(t, []string{"root", "bob", "eve"}, names)
	assert.Equal(t, root.ID, list.Users[0].ID)

	tests := []struct {
		name, body string
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"duplicate", `{"username":"bob","password":"long enough"}`, 409, "ERR_CONFLICT", `"bob" is taken`},
		{"short password", `{"username":"carl","password":"short"}`, 400, "ERR_INVALID_PAYLOAD", "at least 8"},
		{"long password", `{"username":"carl","password":"` + strings.Repeat("p", 73) + `"}`, 400, "ERR_INVALID_PAYLOAD", "at most 72"},
		{"no username", `{"password":"long enough"}`, 400, "ERR_INVALID_PAYLOAD", "username is required"},
		{"space in username", `{"username":"carl smith","password":"long enough"}`, 400, "ERR_INVALID_PAYLOAD", "spaces"},
		{"admin not bool", `{"username":"carl","password":"long enough","admin":"yes"}`, 400, "ERR_INVALID_PAYLOAD", `"admin" must be true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(http.MethodPost, "/api/v1/users", tok, tt.body)
			assert.Equal(t, tt.wantStatus, res.status, "%s", res.body)
			assert.Equal(t, tt.wantCode, res.errCode())
			assert.Contains(t, res.errMessage(), tt.wantMsg)
		})
	}
}

func TestCheckUsername(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"plain", "alice", ""},
		{"unicode", "小明", ""},
		{"punctuation", "a.b-c_d@e", ""},
		{"empty", "", "required"},
		{"too long", strings.Repeat("a", 65), "longer than 64"},
		{"space", "a b", "spaces"},
		{"tab", "a\tb", "spaces"},
		{"control", "a\x01b", "control"},
		{"invalid utf8", "a\xffb", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckUsername(tt.in)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}
