package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/internal/testbin"
)

// cleanEnv is the test process's environment without TIDEWATCH_ variables,
// plus extra.
func cleanEnv(extra ...string) []string { return testbin.CleanEnv(envPrefix, extra...) }

// httpJSON sends a JSON request and decodes the JSON answer into out.
func httpJSON(t *testing.T, method, url, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := (&http.Client{Timeout: testbin.DefaultTimeout}).Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "%s %s: %s", method, url, raw)
	}
	return res.StatusCode
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := testbin.Build(t, filepath.Join(dir, "tidewatch-master"), ".", &testbin.BuildOptions{
		LDFlags: "-X main.version=9.9.9-e2e -X main.commit=abc123 -X main.date=2025-01-01",
	})
	data := filepath.Join(dir, "data")
	env := cleanEnv()

	stdout, _, code := testbin.Run(t, bin, "", env, "--version")
	require.Equal(t, 0, code)
	assert.Equal(t, "tidewatch-master 9.9.9-e2e (commit abc123, built 2025-01-01)\n", stdout)

	// An admin, added with the data directory from the environment.
	const password = "an admin password"
	stdout, stderr, code := testbin.Run(t, bin, password+"\n", cleanEnv("TIDEWATCH_DATA="+data),
		"user", "add", "--username", "admin", "--admin", "--password-stdin")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
	assert.NotContains(t, stdout+stderr, password)

	// An enrollment token: alone on the last line of stdout.
	stdout, stderr, code = testbin.Run(t, bin, "", env, "token", "create", "--data", data, "--name", "pi-1")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	token := lines[len(lines)-1]
	assert.Regexp(t, `^twk_wtk-[0-9a-f]+_[A-Za-z0-9_-]{43}$`, token)

	// Usage errors exit 2 and say what is wrong.
	_, stderr, code = testbin.Run(t, bin, "", env, "serve")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--data (or TIDEWATCH_DATA) is required")

	// Serve on a free port; the address comes from the log.
	srv := testbin.Start(t, bin, cleanEnv("TIDEWATCH_HEARTBEAT_INTERVAL=2s", "TIDEWATCH_LIVENESS_TIMEOUT=6s"),
		"serve", "--data", data, "--listen", "127.0.0.1:0", "--sweep-interval", "200ms", "--shutdown-timeout", "5s")
	m := regexp.MustCompile(`msg="master listening" addr=(\S+)`).FindStringSubmatch(srv.Stderr.WaitFor(t, "master listening"))
	require.Len(t, m, 2)
	srv.Stdout.Drain()
	srv.Stderr.Drain()
	base := "http://" + m[1]

	var health struct{ Status, Version string }
	require.Equal(t, http.StatusOK, httpJSON(t, http.MethodGet, base+"/healthz", "", nil, &health))
	assert.Equal(t, "ok", health.Status)
	assert.Equal(t, "9.9.9-e2e", health.Version)

	var login struct {
		Token     string `json:"token"`
		ExpiresAt int64  `json:"expires_at"`
	}
	require.Equal(t, http.StatusOK, httpJSON(t, http.MethodPost, base+"/api/v1/auth/login", "",
		map[string]string{"username": "admin", "password": password}, &login))
	require.NotEmpty(t, login.Token)
	assert.Greater(t, login.ExpiresAt, time.Now().Add(24*time.Hour).Unix(), "default token TTL is 30 days")

	var acc map[string]any
	require.Equal(t, http.StatusCreated, httpJSON(t, http.MethodPost, base+"/api/v1/accounts", login.Token, map[string]any{
		"platform": "douyin", "account_id": "dy123456", "account_name": "我的抖音账号",
		"credentials": "sessionid=E2E-SECRET-COOKIE", "monitor_interval": 30,
	}, &acc))
	assert.Equal(t, "unassigned", acc["status"], "no worker is connected")
	assert.Equal(t, true, acc["has_credentials"])

	var list map[string]any
	require.Equal(t, http.StatusOK, httpJSON(t, http.MethodGet, base+"/api/v1/accounts", login.Token, nil, &list))
	raw, err := json.Marshal(list)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "E2E-SECRET-COOKIE")
	assert.Contains(t, string(raw), acc["id"])

	var workers struct {
		Workers []any `json:"workers"`
	}
	require.Equal(t, http.StatusOK, httpJSON(t, http.MethodGet, base+"/api/v1/workers", login.Token, nil, &workers))
	assert.Empty(t, workers.Workers)

	var tokens struct {
		Tokens []struct{ Name string } `json:"tokens"`
	}
	require.Equal(t, http.StatusOK, httpJSON(t, http.MethodGet, base+"/api/v1/worker-tokens", login.Token, nil, &tokens))
	require.Len(t, tokens.Tokens, 1)
	assert.Equal(t, "pi-1", tokens.Tokens[0].Name)

	res, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	metricsBody, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(metricsBody), "tidewatch_workers_online 0")

	// SIGTERM: a clean exit with code 0.
	require.Equal(t, 0, srv.Terminate(t), "exit status\n%s", srv.Stderr.Text())
	logsText := srv.Stderr.Text()
	assert.Contains(t, logsText, `msg=stopped`)
	for _, secret := range []string{password, token, "E2E-SECRET-COOKIE", login.Token} {
		assert.NotContains(t, logsText, secret, "secrets never reach the log")
	}

	// Durable: the account and the user are still there for the offline
	// commands.
	stdout, _, code = testbin.Run(t, bin, "", env, "user", "list", "--data", data)
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "admin")
}
