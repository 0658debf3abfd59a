// Package e2e runs the built binaries end to end: a master and appliances
// as real processes on 127.0.0.1, talking Socket.IO and REST, with the
// appliances' file-driven test monitor standing in for Douyin.
package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Timings of the fleet under test: seconds instead of the contract's tens
// of seconds.
const (
	heartbeat       = time.Second
	livenessTimeout = 3 * time.Second
	disconnectGrace = 3 * time.Second
	// waitFor bounds waits for things that take a few round trips.
	waitFor = 15 * time.Second
	// poll is the step of every wait.
	poll = 100 * time.Millisecond
	// exitCodeShutdownRequested is the appliance's exit status after
	// master:shutdown (ossvc.ExitShutdownRequested).
	exitCodeShutdownRequested = 150
)

// binaries is set by TestMain.
var binaries bins

// TestMain builds the binaries once.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tidewatch-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaries, err = build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// listeningRE finds the master's address in its log.
var listeningRE = regexp.MustCompile(`msg="?master listening"? addr=(\S+)`)

// fleet is a master with its data directory and an admin client.
type fleet struct {
	t       *testing.T
	dataDir string
	addr    string
	master  *proc
	api     *api
}

// newFleet prepares a data directory with an admin and starts the master.
func newFleet(t *testing.T) *fleet {
	t.Helper()
	const password = "correct horse battery"
	f := &fleet{t: t, dataDir: t.TempDir(), api: &api{t: t}}
	run(t, binaries.master, password+"\n", "user", "add", "--data", f.dataDir, "--username", "admin", "--admin", "--password-stdin")
	f.startMaster("127.0.0.1:0")
	var login struct {
		Token string `json:"token"`
	}
	require.Equal(t, http.StatusOK, f.api.do(http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": "admin", "password": password}, &login))
	require.NotEmpty(t, login.Token)
	f.api.token = login.Token
	return f
}

// startMaster starts (or restarts) the master on addr.
func (f *fleet) startMaster(addr string) {
	f.t.Helper()
	f.master = start(f.t, "master", binaries.master, nil, "serve", "--listen", addr, "--data", f.dataDir,
		"--heartbeat-interval", heartbeat.String(), "--liveness-timeout", livenessTimeout.String(),
		"--disconnect-grace", disconnectGrace.String(), "--sweep-interval", "200ms", "--assign-ack-timeout", "2s")
	f.addr = f.master.waitLog(listeningRE, waitFor)
	f.api.base = "http://" + f.addr
}

// stopMaster stops the master with SIGTERM.
func (f *fleet) stopMaster() {
	f.t.Helper()
	assert.Zero(f.t, f.master.stop(syscall.SIGTERM, waitFor), "master exit code")
}

// token creates an enrollment token offline.
func (f *fleet) token(name string) string {
	f.t.Helper()
	out := strings.TrimSpace(run(f.t, binaries.master, "", "token", "create", "--data", f.dataDir, "--name", name))
	lines := strings.Split(out, "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// appliance is a running appliance process and its data directory.
type appliance struct {
	*proc
	id      string
	dataDir string
}

// startAppliance runs an appliance with the test monitor.
func (f *fleet) startAppliance(id, token, dataDir string) *appliance {
	f.t.Helper()
	if dataDir == "" {
		dataDir = f.t.TempDir()
	}
	p := start(f.t, id, binaries.appliance, []string{"TIDEWATCH_TOKEN=" + token},
		"run", "--data", dataDir, "--master", "http://"+f.addr, "--worker-id", id, "--worker-name", id,
		"--max-accounts", "5", "--setup-listen", "127.0.0.1:0", "--heartbeat", heartbeat.String(),
		"--connect-timeout", "2s", "--reconnect-min", "200ms", "--reconnect-max", "1s",
		"--outbox-resend", "2s", "--shutdown-grace", "5s", "--test-monitor")
	return &appliance{proc: p, id: id, dataDir: dataDir}
}

// monitorFile is a path of the test monitor's files for an account.
func (a *appliance) monitorFile(accountID, ext string) string {
	return filepath.Join(a.dataDir, "testmonitor", accountID+ext)
}

// monitoring reports whether the appliance runs a monitor for an account.
func (a *appliance) monitoring(accountID string) bool {
	_, errStarted := os.Stat(a.monitorFile(accountID, ".started"))
	_, errStopped := os.Stat(a.monitorFile(accountID, ".stopped"))
	return errStarted == nil && os.IsNotExist(errStopped)
}

// detect makes the appliance's monitor detect one comment.
func (a *appliance) detect(t *testing.T, accountID, messageID string) {
	t.Helper()
	line, err := json.Marshal(map[string]any{"message_type": "comment", "data": map[string]any{
		"id": messageID, "platform_comment_id": "p-" + messageID, "content": "e2e " + messageID, "author_name": "tester",
	}})
	require.NoError(t, err)
	fh, err := os.OpenFile(a.monitorFile(accountID, ".jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	_, err = fh.Write(append(line, '\n'))
	require.NoError(t, err)
	require.NoError(t, fh.Close())
}

// createAccount adds an account through the REST API.
func (f *fleet) createAccount(platformID string) string {
	f.t.Helper()
	var acc account
	require.Equal(f.t, http.StatusCreated, f.api.do(http.MethodPost, "/api/v1/accounts", map[string]any{
		"platform": "douyin", "account_id": platformID, "account_name": "e2e " + platformID,
		"credentials": map[string]any{"cookies": "jar-" + platformID}, "monitor_interval": 30,
	}, &acc))
	return acc.ID
}
