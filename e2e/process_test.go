package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/internal/testbin"
)

// bins holds the paths of the binaries built once by TestMain.
type bins struct {
	master    string
	appliance string
}

// build compiles the master and the appliance into dir.
func build(dir string) (bins, error) {
	b := bins{master: filepath.Join(dir, "tidewatch-master"), appliance: filepath.Join(dir, "tidewatch-appliance")}
	for out, pkg := range map[string]string{b.master: "../cmd/tidewatch-master", b.appliance: "../cmd/tidewatch-appliance"} {
		if err := testbin.Compile(context.Background(), out, pkg, &testbin.BuildOptions{Env: []string{"CGO_ENABLED=0"}}); err != nil {
			return b, err
		}
	}
	return b, nil
}

// logBuffer collects a process's output for searching; safe for concurrent
// use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// proc is a running binary.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{}
	// err is the result of Wait, valid once done is closed.
	err error
}

// start runs a binary until the test ends.
func start(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, log: &logBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("---- %s output ----\n%s", name, tail(p.log.String(), 6000))
		}
	})
	return p
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// kill ends the process with SIGKILL and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// signal sends sig and waits up to d for the exit; it returns the exit code.
func (p *proc) stop(sig syscall.Signal, d time.Duration) int {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
	return p.waitExit(d)
}

// waitExit waits up to d for the process to exit and returns its code.
func (p *proc) waitExit(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("%s did not exit within %s", p.name, d)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(p.t, p.err)
	return 0
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitLog waits until the output matches re and returns the first submatch
// (or the whole match).
func (p *proc) waitLog(re *regexp.Regexp, d time.Duration) string {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.log.String()); m != nil {
			return m[len(m)-1]
		}
		if p.exited() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s: no log line matching %s within %s", p.name, re, d)
	return ""
}

// countLog counts the lines of output matching re.
func (p *proc) countLog(re *regexp.Regexp) int {
	return len(re.FindAllString(p.log.String(), -1))
}

// run runs a binary to completion and returns its standard output.
func run(t *testing.T, bin, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := testbin.Run(t, bin, stdin, nil, args...)
	require.Equal(t, 0, code, "%s %v: %s", filepath.Base(bin), args, errOut)
	return out
}

// api is a logged-in REST client of the master.
type api struct {
	t     *testing.T
	base  string
	token string
}

// do sends a request with a JSON body (nil for none) and decodes the answer
// into out (nil to discard); it returns the status code.
func (a *api) do(method, path string, body, out any) int {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(a.t, err)
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	require.NoError(a.t, err)
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(a.t, json.Unmarshal(raw, out), "%s %s: %s", method, path, raw)
	}
	return resp.StatusCode
}

// worker is a worker as GET /workers shows it.
type worker struct {
	ID           string          `json:"id"`
	Status       string          `json:"status"`
	Connected    bool            `json:"connected"`
	CPUUsage     float64         `json:"cpu_usage"`
	MemoryUsage  float64         `json:"memory_usage"`
	Accounts     []string        `json:"accounts"`
	Capabilities []string        `json:"capabilities"`
	Extra        json.RawMessage `json:"extra"`
	History      []struct {
		CPUUsage    float64 `json:"cpu_usage"`
		MemoryUsage float64 `json:"memory_usage"`
	} `json:"history"`
}

// workers lists the workers by id.
func (a *api) workers() map[string]worker {
	a.t.Helper()
	var body struct {
		Workers []worker `json:"workers"`
	}
	require.Equal(a.t, http.StatusOK, a.do(http.MethodGet, "/api/v1/workers", nil, &body))
	out := map[string]worker{}
	for _, w := range body.Workers {
		out[w.ID] = w
	}
	return out
}

// account is an account as the API shows it.
type account struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	WorkerID string `json:"worker_id"`
}

// account reads one account.
func (a *api) account(id string) account {
	a.t.Helper()
	var acc account
	require.Equal(a.t, http.StatusOK, a.do(http.MethodGet, "/api/v1/accounts/"+id, nil, &acc))
	return acc
}

// notificationsFor returns how many notifications relate to a message id.
func (a *api) notificationsFor(relatedID string) int {
	a.t.Helper()
	var body struct {
		Notifications []struct {
			RelatedID string `json:"related_id"`
		} `json:"notifications"`
	}
	require.Equal(a.t, http.StatusOK, a.do(http.MethodGet, "/api/v1/notifications?limit=200", nil, &body))
	n := 0
	for _, x := range body.Notifications {
		if x.RelatedID == relatedID {
			n++
		}
	}
	return n
}
