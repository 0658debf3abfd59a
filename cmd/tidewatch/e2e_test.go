package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/internal/testbin"
	"github.com/tidewatch/tidewatch/internal/testworker"
	"github.com/tidewatch/tidewatch/protocol"
)

// cleanEnv is the test process's environment without TIDEWATCH_ variables,
// plus extra.
func cleanEnv(extra ...string) []string { return testbin.CleanEnv("TIDEWATCH_", extra...) }

// e2eWorker is enough of an appliance to report detected comments.
type e2eWorker struct {
	*testworker.Worker
	n int
}

// dialE2EWorker connects and registers a worker with an enrollment token
// and sends one heartbeat.
func dialE2EWorker(t *testing.T, base, secret string) *e2eWorker {
	t.Helper()
	w := testworker.Dial(t, base, secret, protocol.WorkerRegister{
		WorkerID: "pi-kitchen", Host: "127.0.0.1", Version: "e2e", Capabilities: []string{protocol.PlatformDouyin}, MaxAccounts: 5,
	}, testbin.DefaultTimeout)
	w.Send(t, protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{
		WorkerID: "pi-kitchen", Status: protocol.WorkerStatusOnline, ActiveTasks: 1, MemoryUsage: 150.5, CPUUsage: 25.3,
	})
	w.Await(t, protocol.TypeWorkerHeartbeatAck, testbin.DefaultTimeout)
	return &e2eWorker{Worker: w}
}

// detect reports a comment and waits for the master's ack; it returns the
// notification content the master makes of it.
func (w *e2eWorker) detect(t *testing.T, accountID string) string {
	t.Helper()
	w.n++
	text := fmt.Sprintf("太有趣了! #%d", w.n)
	w.Send(t, protocol.TypeMessageDetected, protocol.MessageDetected{
		WorkerID: "pi-kitchen", AccountID: accountID, MessageType: protocol.MessageTypeComment,
		Data: protocol.MessageData{
			ID: fmt.Sprintf("cmt-%d", w.n), PlatformCommentID: protocol.ID(fmt.Sprintf("74%015d", w.n)),
			Content: text, AuthorName: "用户B", AuthorID: "u1", PostID: "v1", PostTitle: "我的最新视频",
			CreatedAt: protocol.TimestampOf(time.Now()),
		},
	})
	w.Await(t, protocol.TypeMessageAck, testbin.DefaultTimeout)
	return "用户B: " + text
}

// startMaster serves the master on a free port and returns its URL.
func startMaster(t *testing.T, bin, data string) string {
	t.Helper()
	srv := testbin.Start(t, bin, cleanEnv(), "serve", "--data", data, "--listen", "127.0.0.1:0",
		"--sweep-interval", "200ms", "--shutdown-timeout", "5s")
	re := regexp.MustCompile(`msg="master listening" addr=(\S+)`)
	m := re.FindStringSubmatch(srv.Stderr.WaitFor(t, "master listening"))
	require.Len(t, m, 2)
	srv.Stderr.Drain() // keep draining the log
	return "http://" + m[1]
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	dir := t.TempDir()
	cli := testbin.Build(t, filepath.Join(dir, "tidewatch"), ".", nil)
	masterBin := testbin.Build(t, filepath.Join(dir, "tidewatch-master"), "../tidewatch-master", nil)
	data, config := filepath.Join(dir, "data"), filepath.Join(dir, "config")

	const password = "an admin password"
	_, stderr, code := testbin.Run(t, masterBin, password+"\n", cleanEnv(),
		"user", "add", "--data", data, "--username", "admin", "--admin", "--password-stdin")
	require.Equal(t, 0, code, stderr)
	stdout, stderr, code := testbin.Run(t, masterBin, "", cleanEnv(), "token", "create", "--data", data, "--name", "kitchen")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	secret := lines[len(lines)-1]
	base := startMaster(t, masterBin, data)

	// Not logged in yet.
	env := cleanEnv("TIDEWATCH_CONFIG=" + config)
	_, stderr, code = testbin.Run(t, cli, "", env, "accounts")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not logged in; run: tidewatch login --server URL --username NAME")

	// Log in; the session file is private.
	stdout, stderr, code = testbin.Run(t, cli, password+"\n", env, "login", "--server", base, "--username", "admin", "--password-stdin")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "logged in to "+base+" as admin")
	assert.NotContains(t, stdout+stderr, password)
	fi, err := os.Stat(filepath.Join(config, sessionFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(config)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	raw, err := os.ReadFile(filepath.Join(config, sessionFile))
	require.NoError(t, err)
	var sess session
	require.NoError(t, json.Unmarshal(raw, &sess))
	assert.NotContains(t, string(raw), password)

	// An account and a worker that monitors it.
	body, err := json.Marshal(map[string]any{
		"platform": "douyin", "account_id": "dy123456", "account_name": "我的抖音账号", "credentials": "sessionid=x",
	})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/accounts", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+sess.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var acc struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&acc))
	_ = res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)
	w := dialE2EWorker(t, base, secret)

	// Watch, as a process, with the server from the environment and the
	// config directory from the flag.
	watchEnv := cleanEnv("TIDEWATCH_SERVER=" + base)
	watchArgs := []string{"watch", "--config", config, "--json", "--device-name", "e2e laptop", "--backoff-min", "100ms", "--backoff-max", "1s"}
	watch := testbin.Start(t, cli, watchEnv, watchArgs...)
	watch.Stderr.WaitFor(t, "connected to "+base)
	// Live from here on: the catch-up sync after connecting is done.
	watch.Stderr.WaitFor(t, "up to date")

	decode := func(l string) map[string]any {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "not a JSON line: %q", l)
		return m
	}
	first := w.detect(t, acc.ID)
	got := decode(watch.Stdout.Next(t, "the first notification"))
	assert.Equal(t, first, got["content"])
	assert.Equal(t, "comment", got["type"])
	assert.Equal(t, "我的抖音账号", got["account_name"])
	assert.Equal(t, acc.ID, got["account_id"])
	assert.Equal(t, true, got["live"])
	assert.Regexp(t, `^ntf-`, got["id"])
	firstID, _ := got["id"].(string)

	// SIGTERM: a clean exit, code 0.
	assert.Equal(t, 0, watch.Terminate(t), "stderr:\n%s", watch.Stderr.Text())

	// Two more while watch is down; a restarted watch prints exactly those,
	// then a live one.
	missed := []string{w.detect(t, acc.ID), w.detect(t, acc.ID)}
	watch = testbin.Start(t, cli, watchEnv, watchArgs...)
	watch.Stderr.WaitFor(t, "connected to "+base)
	// Live from here on: the catch-up sync after connecting is done.
	watch.Stderr.WaitFor(t, "up to date")
	live := w.detect(t, acc.ID)
	var contents []string
	var lives []any
	for range 3 {
		m := decode(watch.Stdout.Next(t, "a notification"))
		contents = append(contents, m["content"].(string))
		lives = append(lives, m["live"])
	}
	assert.Equal(t, append(missed, live), contents)
	assert.Equal(t, []any{false, false}, lives[:2], "the missed ones were caught up by sync")

	// read marks one read; the text mode of a second watch shows the read
	// state is kept by the server (a fresh config dir syncs everything).
	stdout, stderr, code = testbin.Run(t, cli, "", env, "read", firstID)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "marked "+firstID+" read")
	_, stderr, code = testbin.Run(t, cli, "", env, "read", "ntf-nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no notification ntf-nope")

	assert.Equal(t, 0, watch.Terminate(t))
	assert.Equal(t, 3, strings.Count(watch.Stdout.Text(), "\n"), "nothing printed twice:\n%s", watch.Stdout.Text())

	// Text mode prints readable lines: a fresh state file (another config
	// directory with the same session) prints the whole history.
	config2 := filepath.Join(dir, "config2")
	require.NoError(t, os.MkdirAll(config2, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(config2, sessionFile), raw, 0o600))
	text := testbin.Start(t, cli, cleanEnv(), "--config", config2, "watch")
	for _, want := range []string{first, missed[0], missed[1], live} {
		l := text.Stdout.Next(t, "a text line")
		assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \[评论\] 我的抖音账号  `+regexp.QuoteMeta(want)+`  \(ntf-[^)]+\)$`, l)
	}
	assert.Equal(t, 0, text.Terminate(t))

	// accounts and workers.
	stdout, stderr, code = testbin.Run(t, cli, "", env, "accounts")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^ID\s+NAME\s+PLATFORM\s+STATUS\s+WORKER$`, stdout)
	assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(acc.ID)+`\s+我的抖音账号\s+douyin\s+active\s+pi-kitchen$`, stdout)
	stdout, stderr, code = testbin.Run(t, cli, "", env, "workers")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^ID\s+STATUS\s+CPU\s+MEMORY\s+ACCOUNTS\s+LAST HEARTBEAT$`, stdout)
	assert.Regexp(t, `(?m)^pi-kitchen\s+online\s+25\.3%\s+150\.5 MB\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+s ago\)$`, stdout)

	// Log out: the next command needs a login again.
	stdout, _, code = testbin.Run(t, cli, "", env, "logout")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "logged out of "+base)
	_, stderr, code = testbin.Run(t, cli, "", env, "accounts")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not logged in")
}
