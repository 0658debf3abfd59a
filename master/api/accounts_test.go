package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master/store"
)

// createAccount creates an account through the API and returns it.
func (e *env) createAccount(token string, body map[string]any) accountView {
	e.t.Helper()
	res := e.do(http.MethodPost, "/api/v1/accounts", token, body)
	require.Equal(e.t, http.StatusCreated, res.status, "%s", res.body)
	var a accountView
	res.decode(e.t, &a)
	return a
}

func TestAccountLifecycle(t *testing.T) {
	e := newEnv(t)
	const jar = `[{"name":"sessionid","value":"SECRET-COOKIE-1","domain":".douyin.com"}]`
	e.forbid("SECRET-COOKIE")
	u, tok := e.user("alice", false)
	admin, _ := e.user("root", true)
	ctx := context.Background()

	// Create.
	created := e.createAccount(tok, map[string]any{
		"platform": "douyin", "account_id": "1234567890123456789", "account_name": "我的抖音账号",
		"credentials":            []any{map[string]any{"name": "sessionid", "value": "SECRET-COOKIE-1", "domain": ".douyin.com"}},
		"credentials_expires_at": 1_900_000_000_000,
	})
	assert.True(t, strings.HasPrefix(created.ID, "acc-"))
	assert.Equal(t, "douyin", created.Platform)
	assert.Equal(t, "1234567890123456789", created.AccountID)
	assert.Equal(t, "我的抖音账号", created.AccountName)
	assert.Equal(t, u.ID, created.OwnerID)
	assert.Equal(t, "unassigned", created.Status, "active but on no worker")
	assert.Equal(t, store.DefaultMonitorInterval, created.MonitorInterval)
	assert.True(t, created.HasCredentials)
	require.NotNil(t, created.CredentialsUpdatedAt)
	assert.Equal(t, e.clock.now().Unix(), *created.CredentialsUpdatedAt)
	require.NotNil(t, created.CredentialsExpiresAt)
	assert.Equal(t, int64(1_900_000_000), *created.CredentialsExpiresAt)
	assert.Equal(t, []string{created.ID}, e.rec.changedIDs())

	creds, err := e.st.AccountCredentials(ctx, created.ID)
	require.NoError(t, err)
	assert.JSONEq(t, jar, string(creds))

	// Read back, singly and listed.
	res := e.do(http.MethodGet, "/api/v1/accounts/"+created.ID, tok, nil)
	require.Equal(t, http.StatusOK, res.status)
	var got accountView
	res.decode(t, &got)
	assert.Equal(t, created, got)
	assert.NotContains(t, string(res.body), `"credentials"`, "no credentials field at all")

	res = e.do(http.MethodGet, "/api/v1/accounts", tok, nil)
	require.Equal(t, http.StatusOK, res.status)
	var list accountList
	res.decode(t, &list)
	assert.Equal(t, []accountView{created}, list.Accounts)

	// A worker picks it up: the status is the stored one again.
	require.NoError(t, e.st.SetAccountWorker(ctx, created.ID, "w1"))
	res = e.do(http.MethodGet, "/api/v1/accounts/"+created.ID, tok, nil)
	res.decode(t, &got)
	assert.Equal(t, "active", got.Status)
	assert.Equal(t, "w1", got.WorkerID)

	// Pause, change the interval and the name.
	res = e.do(http.MethodPatch, "/api/v1/accounts/"+created.ID, tok,
		map[string]any{"status": "paused", "monitor_interval": 60, "account_name": "renamed"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	res.decode(t, &got)
	assert.Equal(t, "paused", got.Status)
	assert.Equal(t, 60, got.MonitorInterval)
	assert.Equal(t, "renamed", got.AccountName)
	assert.Equal(t, []string{created.ID, created.ID}, e.rec.changedIDs())

	// The account fails; new credentials bring it back.
	_, err = e.st.UpdateAccount(ctx, created.ID, store.AccountPatch{Status: new(store.AccountActive)})
	require.NoError(t, err)
	_, err = e.st.SetAccountStatus(ctx, created.ID, store.AccountError, "凭证已过期")
	require.NoError(t, err)
	e.clock.advance(90e9)
	res = e.do(http.MethodPatch, "/api/v1/accounts/"+created.ID, tok, map[string]any{"credentials": "sessionid=SECRET-COOKIE-2"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	res.decode(t, &got)
	assert.Equal(t, "active", got.Status)
	assert.Empty(t, got.ErrorMessage)
	assert.Equal(t, e.clock.now().Unix(), *got.CredentialsUpdatedAt)
	assert.Nil(t, got.CredentialsExpiresAt, "new credentials without an expiry have none")
	creds, err = e.st.AccountCredentials(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, "sessionid=SECRET-COOKIE-2", string(creds), "a JSON string is stored as its text")
	assert.Len(t, e.rec.changedIDs(), 3)

	// New credentials with an explicit pause keep it paused.
	_, err = e.st.SetAccountStatus(ctx, created.ID, store.AccountError, "expired")
	require.NoError(t, err)
	res = e.do(http.MethodPatch, "/api/v1/accounts/"+created.ID, tok, map[string]any{"credentials": "c=SECRET-COOKIE-3", "status": "paused"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	res.decode(t, &got)
	assert.Equal(t, "paused", got.Status)

	// Delete: viewers are read before, the fleet told after.
	require.NoError(t, e.st.SetAccountWorker(ctx, created.ID, "w1"))
	res = e.do(http.MethodDelete, "/api/v1/accounts/"+created.ID, tok, nil)
	require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
	dels := e.rec.deletions()
	require.Len(t, dels, 1)
	assert.Equal(t, created.ID, dels[0].account.ID)
	assert.Equal(t, "w1", dels[0].account.WorkerID, "the fleet learns which worker to revoke")
	assert.ElementsMatch(t, []string{u.ID, admin.ID}, dels[0].viewers)
	_, err = e.st.GetAccount(ctx, created.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)

	res = e.do(http.MethodGet, "/api/v1/accounts/"+created.ID, tok, nil)
	assert.Equal(t, http.StatusNotFound, res.status)
	assert.Equal(t, "ERR_ACCOUNT_NOT_FOUND", res.errCode())
	assert.Equal(t, http.StatusNotFound, e.do(http.MethodDelete, "/api/v1/accounts/"+created.ID, tok, nil).status)
}

func TestCreateAccountValidation(t *testing.T) {
	e := newEnv(t)
	u, tok := e.user("alice", false)
	_, adminTok := e.user("root", true)
	e.createAccount(tok, map[string]any{"platform": "douyin", "account_id": "taken"})

	tests := []struct {
		name       string
		token      string
		body       string
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"unknown platform", tok, `{"platform":"kuaishou","account_id":"a"}`, 400, "ERR_INVALID_PAYLOAD", `platform must be "douyin"`},
		{"no platform", tok, `{"account_id":"a"}`, 400, "ERR_INVALID_PAYLOAD", "platform"},
		{"no account id", tok, `{"platform":"douyin"}`, 400, "ERR_INVALID_PAYLOAD", "account_id is required"},
		{"blank account id", tok, `{"platform":"douyin","account_id":"  "}`, 400, "ERR_INVALID_PAYLOAD", "account_id is required"},
		{"long account id", tok, `{"platform":"douyin","account_id":"` + strings.Repeat("1", 129) + `"}`, 400, "ERR_INVALID_PAYLOAD", "longer than 128"},
		{"control in name", tok, `{"platform":"douyin","account_id":"a","account_name":"a\u0000b"}`, 400, "ERR_INVALID_PAYLOAD", "control character"},
		{"interval too short", tok, `{"platform":"douyin","account_id":"a","monitor_interval":4}`, 400, "ERR_INVALID_PAYLOAD", "between 5 and 86400"},
		{"interval too long", tok, `{"platform":"douyin","account_id":"a","monitor_interval":86401}`, 400, "ERR_INVALID_PAYLOAD", "between 5 and 86400"},
		{"interval not a number", tok, `{"platform":"douyin","account_id":"a","monitor_interval":"30"}`, 400, "ERR_INVALID_PAYLOAD", `"monitor_interval" must be a number`},
		{"interval fraction", tok, `{"platform":"douyin","account_id":"a","monitor_interval":30.5}`, 400, "ERR_INVALID_PAYLOAD", "monitor_interval"},
		{"huge credentials", tok, `{"platform":"douyin","account_id":"a","credentials":"` + strings.Repeat("c", maxCredentialsLen+1) + `"}`, 400, "ERR_INVALID_PAYLOAD", "credentials is longer"},
		{"negative expiry", tok, `{"platform":"douyin","account_id":"a","credentials":"c=1","credentials_expires_at":-5}`, 400, "ERR_INVALID_PAYLOAD", "credentials_expires_at"},
		{"bad json", tok, `{"platform":"douyin",`, 400, "ERR_INVALID_PAYLOAD", "JSON"},
		{"syntax error", tok, `{"platform" "douyin"}`, 400, "ERR_INVALID_PAYLOAD", "not valid JSON"},
		{"duplicate", tok, `{"platform":"douyin","account_id":"taken"}`, 409, "ERR_CONFLICT", `"taken" is already monitored`},
		{"duplicate across users", adminTok, `{"platform":"douyin","account_id":"taken"}`, 409, "ERR_CONFLICT", "already"},
		{"owner by non-admin", tok, `{"platform":"douyin","account_id":"a","owner_id":"usr-someone"}`, 403, "ERR_FORBIDDEN", "admin"},
		{"unknown owner", adminTok, `{"platform":"douyin","account_id":"a","owner_id":"usr-nobody"}`, 400, "ERR_INVALID_PAYLOAD", "owner_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(http.MethodPost, "/api/v1/accounts", tt.token, tt.body)
			assert.Equal(t, tt.wantStatus, res.status, "%s", res.body)
			assert.Equal(t, tt.wantCode, res.errCode())
			assert.Contains(t, res.errMessage(), tt.wantMsg)
		})
	}
	assert.Len(t, e.rec.changedIDs(), 1, "failed creations tell nobody")

	t.Run("own id as owner", func(t *testing.T) {
		a := e.createAccount(tok, map[string]any{"platform": "douyin", "account_id": "mine", "owner_id": u.ID, "monitor_interval": 5})
		assert.Equal(t, u.ID, a.OwnerID)
		assert.Equal(t, "mine", a.AccountName, "the name defaults to the platform id")
		assert.Equal(t, 5, a.MonitorInterval)
		assert.False(t, a.HasCredentials)
		assert.Nil(t, a.CredentialsUpdatedAt)
	})
	t.Run("admin for another user", func(t *testing.T) {
		a := e.createAccount(adminTok, map[string]any{"platform": "douyin", "account_id": "given", "owner_id": u.ID})
		assert.Equal(t, u.ID, a.OwnerID)
		res := e.do(http.MethodGet, "/api/v1/accounts/"+a.ID, tok, nil)
		assert.Equal(t, http.StatusOK, res.status, "the owner sees it")
	})
	t.Run("credentials null means none", func(t *testing.T) {
		a := e.createAccount(tok, map[string]any{"platform": "douyin", "account_id": "nocreds", "credentials": nil})
		assert.False(t, a.HasCredentials)
	})
}

func TestPatchAccountValidation(t *testing.T) {
	e := newEnv(t)
	_, tok := e.user("alice", false)
	a := e.createAccount(tok, map[string]any{"platform": "douyin", "account_id": "p1"})
	path := "/api/v1/accounts/" + a.ID

	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"status error", path, `{"status":"error"}`, 400, "ERR_INVALID_PAYLOAD", `status must be "active" or "paused"`},
		{"status unknown", path, `{"status":"sleeping"}`, 400, "ERR_INVALID_PAYLOAD", "status"},
		{"interval", path, `{"monitor_interval":0}`, 400, "ERR_INVALID_PAYLOAD", "monitor_interval"},
		{"long name", path, `{"account_name":"` + strings.Repeat("n", 257) + `"}`, 400, "ERR_INVALID_PAYLOAD", "account_name"},
		{"credentials null", path, `{"credentials":null}`, 400, "ERR_INVALID_PAYLOAD", "credentials must not be"},
		{"credentials empty", path, `{"credentials":""}`, 400, "ERR_INVALID_PAYLOAD", "credentials must not be"},
		{"expiry alone", path, `{"credentials_expires_at":1900000000}`, 400, "ERR_INVALID_PAYLOAD", "only be sent with credentials"},
		{"nothing", path, `{}`, 400, "ERR_INVALID_PAYLOAD", "nothing to change"},
		{"only unknown fields", path, `{"owner":"x"}`, 400, "ERR_INVALID_PAYLOAD", "nothing to change"},
		{"bad json", path, `{"status":`, 400, "ERR_INVALID_PAYLOAD", "JSON"},
		{"unknown id", "/api/v1/accounts/acc-000000000000", `{"status":"paused"}`, 404, "ERR_ACCOUNT_NOT_FOUND", "no such account"},
		{"id too long", "/api/v1/accounts/" + strings.Repeat("a", 129), `{"status":"paused"}`, 400, "ERR_INVALID_PAYLOAD", "account id in the path"},
		{"id with space", "/api/v1/accounts/acc%20x", `{"status":"paused"}`, 400, "ERR_INVALID_PAYLOAD", "account id in the path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(http.MethodPatch, tt.path, tok, tt.body)
			assert.Equal(t, tt.wantStatus, res.status, "%s", res.body)
			assert.Equal(t, tt.wantCode, res.errCode())
			assert.Contains(t, res.errMessage(), tt.wantMsg)
		})
	}
	assert.Len(t, e.rec.changedIDs(), 1, "refused patches tell nobody")
	got, err := e.st.GetAccount(context.Background(), a.ID)
	require.NoError(t, err)
	assert.Equal(t, store.AccountActive, got.Status)

	t.Run("bad path ids everywhere", func(t *testing.T) {
		long := strings.Repeat("x", 200)
		_, adminTok := e.user("root", true)
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, "/api/v1/accounts/" + long},
			{http.MethodDelete, "/api/v1/accounts/" + long},
			{http.MethodPost, "/api/v1/workers/" + long + "/shutdown"},
			{http.MethodDelete, "/api/v1/worker-tokens/" + long},
		} {
			res := e.do(r.method, r.path, adminTok, nil)
			assert.Equal(t, http.StatusBadRequest, res.status, "%s %s: %s", r.method, r.path, res.body)
		}
	})
}

func TestAccountVisibility(t *testing.T) {
	e := newEnv(t)
	_, xTok := e.user("xavier", false)
	_, yTok := e.user("yolanda", false)
	_, adminTok := e.user("root", true)
	xa := e.createAccount(xTok, map[string]any{"platform": "douyin", "account_id": "x1"})
	ya := e.createAccount(yTok, map[string]any{"platform": "douyin", "account_id": "y1"})
	// An account without an owner is visible to admins only.
	orphan, err := e.st.CreateAccount(context.Background(), store.Account{Platform: "douyin", PlatformAccountID: "o1"}, nil)
	require.NoError(t, err)

	list := func(tok string) []string {
		res := e.do(http.MethodGet, "/api/v1/accounts", tok, nil)
		require.Equal(t, http.StatusOK, res.status)
		var l accountList
		res.decode(t, &l)
		ids := []string{}
		for _, a := range l.Accounts {
			ids = append(ids, a.ID)
		}
		return ids
	}
	assert.Equal(t, []string{xa.ID}, list(xTok))
	assert.Equal(t, []string{ya.ID}, list(yTok))
	assert.Equal(t, []string{xa.ID, ya.ID, orphan.ID}, list(adminTok))

	for _, id := range []string{xa.ID, orphan.ID} {
		for _, r := range []struct {
			method string
			body   any
		}{
			{http.MethodGet, nil},
			{http.MethodPatch, map[string]any{"status": "paused"}},
			{http.MethodDelete, nil},
		} {
			res := e.do(r.method, "/api/v1/accounts/"+id, yTok, r.body)
			assert.Equal(t, http.StatusNotFound, res.status, "%s %s", r.method, id)
			assert.Equal(t, "ERR_ACCOUNT_NOT_FOUND", res.errCode())
			assert.Equal(t, "no such account", res.errMessage(), "same answer as an unknown id")
		}
	}
	_, err = e.st.GetAccount(context.Background(), xa.ID)
	require.NoError(t, err, "y could not delete it")
	assert.Empty(t, e.rec.deletions())

	// The admin may touch anyone's account.
	res := e.do(http.MethodPatch, "/api/v1/accounts/"+xa.ID, adminTok, map[string]any{"status": "paused"})
	assert.Equal(t, http.StatusOK, res.status)
	res = e.do(http.MethodGet, "/api/v1/accounts/"+orphan.ID, adminTok, nil)
	assert.Equal(t, http.StatusOK, res.status)
	var got accountView
	res.decode(t, &got)
	assert.Empty(t, got.OwnerID)
	assert.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/api/v1/accounts/"+ya.ID, adminTok, nil).status)
	assert.Equal(t, []string{xa.ID}, list(xTok))
}

func TestFleetFailureDoesNotLoseTheChange(t *testing.T) {
	e := newEnv(t)
	_, tok := e.user("alice", false)
	e.fleet.OnAccountChanged = func(context.Context, string) error { return assert.AnError }
	a := e.createAccount(tok, map[string]any{"platform": "douyin", "account_id": "p1"})
	_, err := e.st.GetAccount(context.Background(), a.ID)
	assert.NoError(t, err, "stored; the hub's sweep places it later")
}
