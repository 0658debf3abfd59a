package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/protocol"
)

// e2eTimeout bounds each wait of the end-to-end test so a hang fails the
// test instead of the whole run; it is a deadline, not a speed assertion.
const e2eTimeout = 60 * time.Second

// cleanEnv is the test process's environment without TIDEWATCH_ variables,
// plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TIDEWATCH_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// buildBinaries builds the CLI and the master into dir.
func buildBinaries(t *testing.T, dir string) (cli, masterBin string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli, masterBin = filepath.Join(dir, "tidewatch"), filepath.Join(dir, "tidewatch-master")
	for bin, pkg := range map[string]string{cli: ".", masterBin: "../tidewatch-master"} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput()
		require.NoError(t, err, "go build %s: %s", pkg, out)
	}
	return cli, masterBin
}

// runBinary runs a binary to completion and returns its outputs and exit
// code.
func runBinary(t *testing.T, bin, stdin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errOut.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return out.String(), errOut.String(), 0
}

// lineReader collects the lines of a process's output stream.
type lineReader struct {
	lines chan string
	mu    sync.Mutex
	all   strings.Builder
	done  chan struct{}
}

// readLines starts collecting r.
func readLines(r io.Reader) *lineReader {
	lr := &lineReader{lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(lr.done)
		defer close(lr.lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lr.mu.Lock()
			lr.all.WriteString(sc.Text() + "\n")
			lr.mu.Unlock()
			lr.lines <- sc.Text()
		}
	}()
	return lr
}

// text is everything read so far.
func (lr *lineReader) text() string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.all.String()
}

// next returns the next line.
func (lr *lineReader) next(t *testing.T, what string) string {
	t.Helper()
	select {
	case l, ok := <-lr.lines:
		require.True(t, ok, "stream ended waiting for %s", what)
		return l
	case <-time.After(e2eTimeout):
		t.Fatalf("no %s within %s", what, e2eTimeout)
		return ""
	}
}

// waitFor skips lines until one contains s.
func (lr *lineReader) waitFor(t *testing.T, s string) string {
	t.Helper()
	for {
		if l := lr.next(t, fmt.Sprintf("a line with %q", s)); strings.Contains(l, s) {
			return l
		}
	}
}

// process is a started binary.
type process struct {
	cmd    *exec.Cmd
	stdout *lineReader
	stderr *lineReader
	exited chan struct{}
	err    error
}

// startBinary starts a long-running binary.
func startBinary(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	outPipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &process{cmd: cmd, stdout: readLines(outPipe), stderr: readLines(errPipe), exited: make(chan struct{})}
	go func() {
		<-p.stdout.done
		<-p.stderr.done
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// terminate sends SIGTERM and returns the exit code.
func (p *process) terminate(t *testing.T) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
	case <-time.After(e2eTimeout):
		t.Fatalf("no exit after SIGTERM; stderr:\n%s", p.stderr.text())
	}
	return p.cmd.ProcessState.ExitCode()
}

// e2eWorker is enough of an appliance, spoken by hand over one websocket,
// to report detected comments.
type e2eWorker struct {
	conn *websocket.Conn
	mu   sync.Mutex
	msgs chan map[string]any
	n    int
}

// dialE2EWorker connects and registers a worker with an enrollment token.
func dialE2EWorker(t *testing.T, base, secret string) *e2eWorker {
	t.Helper()
	u := strings.Replace(base, "http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, open, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, len(open) > 0 && open[0] == '0', "engine open: %q", open)
	auth, err := json.Marshal(map[string]string{"token": secret})
	require.NoError(t, err)
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, append([]byte("40"), auth...)))
	_, ok, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(ok), "40"), "namespace connect: %q", ok)
	w := &e2eWorker{conn: conn, msgs: make(chan map[string]any, 64)}
	go w.read()
	w.send(t, protocol.TypeWorkerRegister, protocol.WorkerRegister{
		WorkerID: "pi-kitchen", Host: "127.0.0.1", Version: "e2e", Capabilities: []string{protocol.PlatformDouyin}, MaxAccounts: 5,
	})
	w.await(t, protocol.TypeWorkerRegisterAck)
	w.send(t, protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{
		WorkerID: "pi-kitchen", Status: protocol.WorkerStatusOnline, ActiveTasks: 1, MemoryUsage: 150.5, CPUUsage: 25.3,
	})
	w.await(t, protocol.TypeWorkerHeartbeatAck)
	return w
}

// read answers pings and task assignments and queues other messages.
func (w *e2eWorker) read() {
	defer close(w.msgs)
	for {
		_, b, err := w.conn.ReadMessage()
		if err != nil {
			return
		}
		s := string(b)
		if s == "2" {
			w.mu.Lock()
			_ = w.conn.WriteMessage(websocket.TextMessage, []byte("3"))
			w.mu.Unlock()
			continue
		}
		if !strings.HasPrefix(s, "42") {
			continue
		}
		var ev []json.RawMessage
		var m map[string]any
		if json.Unmarshal([]byte(s[2:]), &ev) != nil || len(ev) < 2 || json.Unmarshal(ev[1], &m) != nil {
			continue
		}
		if m["type"] == protocol.TypeTaskAssign {
			p, _ := m["payload"].(map[string]any)
			id, _ := p["account_id"].(string)
			_ = w.emit(protocol.TypeTaskAssignAck, protocol.TaskAssignAck{Success: true, AccountID: id})
			continue
		}
		w.msgs <- m
	}
}

// emit sends one envelope.
func (w *e2eWorker) emit(typ string, payload any) error {
	b, err := json.Marshal([]any{protocol.SocketEvent, protocol.NewMessage(typ, payload, time.Now(), "")})
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn.WriteMessage(websocket.TextMessage, append([]byte("42"), b...))
}

// send emits one envelope or fails.
func (w *e2eWorker) send(t *testing.T, typ string, payload any) {
	t.Helper()
	require.NoError(t, w.emit(typ, payload))
}

// await returns the next message of type typ.
func (w *e2eWorker) await(t *testing.T, typ string) map[string]any {
	t.Helper()
	timeout := time.After(e2eTimeout)
	for {
		select {
		case m, ok := <-w.msgs:
			require.True(t, ok, "worker connection closed waiting for %s", typ)
			if m["type"] == typ {
				return m
			}
			require.NotContains(t, m["type"], ":error", "waiting for %s: %v", typ, m)
		case <-timeout:
			t.Fatalf("no %s within %s", typ, e2eTimeout)
		}
	}
}

// detect reports a comment and waits for the master's ack; it returns the
// notification content the master makes of it.
func (w *e2eWorker) detect(t *testing.T, accountID string) string {
	t.Helper()
	w.n++
	text := fmt.Sprintf("太有趣了! #%d", w.n)
	w.send(t, protocol.TypeMessageDetected, protocol.MessageDetected{
		WorkerID: "pi-kitchen", AccountID: accountID, MessageType: protocol.MessageTypeComment,
		Data: protocol.MessageData{
			ID: fmt.Sprintf("cmt-%d", w.n), PlatformCommentID: protocol.ID(fmt.Sprintf("74%015d", w.n)),
			Content: text, AuthorName: "用户B", AuthorID: "u1", PostID: "v1", PostTitle: "我的最新视频",
			CreatedAt: protocol.TimestampOf(time.Now()),
		},
	})
	w.await(t, protocol.TypeMessageAck)
	return "用户B: " + text
}

// startMaster serves the master on a free port and returns its URL.
func startMaster(t *testing.T, bin, data string) string {
	t.Helper()
	srv := startBinary(t, bin, cleanEnv(), "serve", "--data", data, "--listen", "127.0.0.1:0",
		"--sweep-interval", "200ms", "--shutdown-timeout", "5s")
	re := regexp.MustCompile(`msg="master listening" addr=(\S+)`)
	m := re.FindStringSubmatch(srv.stderr.waitFor(t, "master listening"))
	require.Len(t, m, 2)
	go func() { // keep draining the log
		for range srv.stderr.lines {
		}
	}()
	return "http://" + m[1]
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	dir := t.TempDir()
	cli, masterBin := buildBinaries(t, dir)
	data, config := filepath.Join(dir, "data"), filepath.Join(dir, "config")

	const password = "an admin password"
	_, stderr, code := runBinary(t, masterBin, password+"\n", cleanEnv(),
		"user", "add", "--data", data, "--username", "admin", "--admin", "--password-stdin")
	require.Equal(t, 0, code, stderr)
	stdout, stderr, code := runBinary(t, masterBin, "", cleanEnv(), "token", "create", "--data", data, "--name", "kitchen")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	secret := lines[len(lines)-1]
	base := startMaster(t, masterBin, data)

	// Not logged in yet.
	env := cleanEnv("TIDEWATCH_CONFIG=" + config)
	_, stderr, code = runBinary(t, cli, "", env, "accounts")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not logged in; run: tidewatch login --server URL --username NAME")

	// Log in; the session file is private.
	stdout, stderr, code = runBinary(t, cli, password+"\n", env, "login", "--server", base, "--username", "admin", "--password-stdin")
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
	watch := startBinary(t, cli, watchEnv, watchArgs...)
	watch.stderr.waitFor(t, "connected to "+base)

	decode := func(l string) map[string]any {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "not a JSON line: %q", l)
		return m
	}
	first := w.detect(t, acc.ID)
	got := decode(watch.stdout.next(t, "the first notification"))
	assert.Equal(t, first, got["content"])
	assert.Equal(t, "comment", got["type"])
	assert.Equal(t, "我的抖音账号", got["account_name"])
	assert.Equal(t, acc.ID, got["account_id"])
	assert.Equal(t, true, got["live"])
	assert.Regexp(t, `^ntf-`, got["id"])
	firstID, _ := got["id"].(string)

	// SIGTERM: a clean exit, code 0.
	assert.Equal(t, 0, watch.terminate(t), "stderr:\n%s", watch.stderr.text())

	// Two more while watch is down; a restarted watch prints exactly those,
	// then a live one.
	missed := []string{w.detect(t, acc.ID), w.detect(t, acc.ID)}
	watch = startBinary(t, cli, watchEnv, watchArgs...)
	watch.stderr.waitFor(t, "connected to "+base)
	live := w.detect(t, acc.ID)
	var contents []string
	var lives []any
	for range 3 {
		m := decode(watch.stdout.next(t, "a notification"))
		contents = append(contents, m["content"].(string))
		lives = append(lives, m["live"])
	}
	assert.Equal(t, append(missed, live), contents)
	assert.Equal(t, []any{false, false}, lives[:2], "the missed ones were caught up by sync")

	// read marks one read; the text mode of a second watch shows the read
	// state is kept by the server (a fresh config dir syncs everything).
	stdout, stderr, code = runBinary(t, cli, "", env, "read", firstID)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "marked "+firstID+" read")
	_, stderr, code = runBinary(t, cli, "", env, "read", "ntf-nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no notification ntf-nope")

	assert.Equal(t, 0, watch.terminate(t))
	assert.Equal(t, 3, strings.Count(watch.stdout.text(), "\n"), "nothing printed twice:\n%s", watch.stdout.text())

	// Text mode prints readable lines: a fresh state file (another config
	// directory with the same session) prints the whole history.
	config2 := filepath.Join(dir, "config2")
	require.NoError(t, os.MkdirAll(config2, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(config2, sessionFile), raw, 0o600))
	text := startBinary(t, cli, cleanEnv(), "--config", config2, "watch")
	for _, want := range []string{first, missed[0], missed[1], live} {
		l := text.stdout.next(t, "a text line")
		assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \[评论\] 我的抖音账号  `+regexp.QuoteMeta(want)+`  \(ntf-[^)]+\)$`, l)
	}
	assert.Equal(t, 0, text.terminate(t))

	// accounts and workers.
	stdout, stderr, code = runBinary(t, cli, "", env, "accounts")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^ID\s+NAME\s+PLATFORM\s+STATUS\s+WORKER$`, stdout)
	assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(acc.ID)+`\s+我的抖音账号\s+douyin\s+active\s+pi-kitchen$`, stdout)
	stdout, stderr, code = runBinary(t, cli, "", env, "workers")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^ID\s+STATUS\s+CPU\s+MEMORY\s+ACCOUNTS\s+LAST HEARTBEAT$`, stdout)
	assert.Regexp(t, `(?m)^pi-kitchen\s+online\s+25\.3%\s+150\.5 MB\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+s ago\)$`, stdout)

	// Log out: the next command needs a login again.
	stdout, _, code = runBinary(t, cli, "", env, "logout")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "logged out of "+base)
	_, stderr, code = runBinary(t, cli, "", env, "accounts")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not logged in")
}
