package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/internal/testmaster"
)

// fixedNow is the clock of the in-process tests.
var fixedNow = time.Date(2026, 12, 4, 21, 5, 3, 0, time.UTC)

// testCLI returns a cli over buffers; the user config dir is home.
func testCLI(home string, env map[string]string, stdin string) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &cli{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		env: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		isTerminal:    func() bool { return false },
		readPassword:  func() ([]byte, error) { return nil, errors.New("no terminal") },
		userConfigDir: func() (string, error) { return home, nil },
		hostname:      func() (string, error) { return "testhost", nil },
		now:           func() time.Time { return fixedNow },
	}, &out, &errOut
}

// writeSession puts a session file into dir.
func writeSession(t *testing.T, dir string, s session) {
	t.Helper()
	require.NoError(t, saveSession(dir, &s))
}

// closedURL returns the URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

func TestRunExitCodesAndMessages(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "tidewatch")
	valid := session{Server: "http://127.0.0.1:7600", Token: "tok", ExpiresAt: fixedNow.Add(time.Hour).Unix(), Username: "bob", UserID: "usr-1"}
	expired := valid
	expired.ExpiresAt = fixedNow.Add(-time.Second).Unix()
	dead := valid
	dead.Server = closedURL(t)

	tests := []struct {
		name       string
		session    *session
		args       []string
		env        map[string]string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no command", wantCode: exitUsage, wantStderr: "a command is required"},
		{name: "unknown command", args: []string{"tail"}, wantCode: exitUsage, wantStderr: `unknown command "tail"`},
		{name: "help", args: []string{"--help"}, wantCode: exitOK, wantStdout: "Commands:"},
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantStdout: "tidewatch dev (commit none, built unknown)"},
		{name: "--version", args: []string{"--version"}, wantCode: exitOK, wantStdout: "tidewatch dev (commit none, built unknown)"},
		{name: "watch help", args: []string{"watch", "--help"}, wantCode: exitOK, wantStdout: "--device-name"},
		{name: "unknown flag", args: []string{"accounts", "--all"}, wantCode: exitUsage, wantStderr: "flag provided but not defined: -all"},
		{name: "stray argument", args: []string{"accounts", "now"}, wantCode: exitUsage, wantStderr: `accounts takes no arguments, got "now"`},
		{name: "read without id", args: []string{"read"}, wantCode: exitUsage, wantStderr: "a notification ID is required"},
		{name: "login without server", args: []string{"login", "--username", "bob", "--password-stdin"}, wantCode: exitUsage, wantStderr: "--server (or TIDEWATCH_SERVER) is required"},
		{name: "login without username", args: []string{"login", "--server", "http://x"}, wantCode: exitUsage, wantStderr: "--username is required"},
		{name: "login bad server", args: []string{"login", "--server", "ftp://x", "--username", "bob"}, wantCode: exitUsage, wantStderr: "scheme must be http or https"},
		{name: "login without a terminal", args: []string{"login", "--server", "http://x", "--username", "bob"}, wantCode: exitUsage, wantStderr: "pass --password-stdin"},
		{name: "login empty stdin", args: []string{"login", "--server", "http://x", "--username", "bob", "--password-stdin"}, wantCode: exitFail, wantStderr: "no password on standard input"},
		{name: "login unreachable", args: []string{"login", "--server", dead.Server, "--username", "bob", "--password-stdin"}, stdin: "pw\n", wantCode: exitFail, wantStderr: "cannot reach the server at " + dead.Server},
		{name: "not logged in", args: []string{"accounts"}, wantCode: exitFail, wantStderr: "not logged in; run: tidewatch login --server URL --username NAME"},
		{name: "not logged in, server known", args: []string{"watch"}, env: map[string]string{"TIDEWATCH_SERVER": "http://tw.example"}, wantCode: exitFail, wantStderr: "not logged in; run: tidewatch login --server http://tw.example --username NAME"},
		{name: "expired", session: &expired, args: []string{"workers"}, wantCode: exitFail, wantStderr: "session expired; run: tidewatch login --server http://127.0.0.1:7600 --username bob"},
		{name: "expired watch", session: &expired, args: []string{"watch"}, wantCode: exitFail, wantStderr: "session expired; run: tidewatch login"},
		{name: "other server", session: &valid, args: []string{"--server", "http://other:1", "accounts"}, wantCode: exitFail, wantStderr: "not logged in to http://other:1 (the session is for http://127.0.0.1:7600); run: tidewatch login --server http://other:1 --username bob"},
		{name: "unreachable accounts", session: &dead, args: []string{"accounts"}, wantCode: exitFail, wantStderr: "cannot reach the server at " + dead.Server},
		{name: "unreachable read", session: &dead, args: []string{"read", "ntf-1"}, wantCode: exitFail, wantStderr: "cannot reach the server at " + dead.Server},
		{name: "logout when logged out", args: []string{"logout"}, wantCode: exitOK, wantStdout: "not logged in"},
		{name: "logout", session: &valid, args: []string{"logout"}, wantCode: exitOK, wantStdout: "logged out of http://127.0.0.1:7600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.RemoveAll(cfg))
			if tt.session != nil {
				writeSession(t, cfg, *tt.session)
			}
			c, out, errOut := testCLI(home, tt.env, tt.stdin)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code := c.run(ctx, tt.args)
			assert.Equal(t, tt.wantCode, code, "stdout: %s\nstderr: %s", out, errOut)
			assert.Contains(t, out.String(), tt.wantStdout)
			assert.Contains(t, errOut.String(), tt.wantStderr)
			if tt.wantCode != exitOK {
				assert.Contains(t, errOut.String(), "tidewatch: ", "errors name the program")
			}
		})
	}
}

func TestConfigDirFromFlagEnvOrDefault(t *testing.T) {
	home := t.TempDir()
	s := session{Server: closedURL(t), Token: "tok", ExpiresAt: fixedNow.Add(time.Hour).Unix(), Username: "bob"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		dir  string
	}{
		{name: "default", args: []string{"accounts"}, dir: filepath.Join(home, "tidewatch")},
		{name: "env", args: []string{"accounts"}, env: map[string]string{"TIDEWATCH_CONFIG": filepath.Join(home, "env")}, dir: filepath.Join(home, "env")},
		{name: "flag before the command", args: []string{"--config", filepath.Join(home, "pre"), "accounts"}, dir: filepath.Join(home, "pre")},
		{name: "flag after the command beats env", args: []string{"accounts", "--config", filepath.Join(home, "post")},
			env: map[string]string{"TIDEWATCH_CONFIG": filepath.Join(home, "env2")}, dir: filepath.Join(home, "post")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeSession(t, tt.dir, s)
			defer func() { _ = os.Remove(filepath.Join(tt.dir, sessionFile)) }()
			c, _, errOut := testCLI(home, tt.env, "")
			assert.Equal(t, exitFail, c.run(context.Background(), tt.args))
			// The session was found: the failure is the dead server, not
			// a missing login.
			assert.Contains(t, errOut.String(), "cannot reach the server at "+s.Server)
		})
	}
}

func TestLoginPromptsOnATerminal(t *testing.T) {
	m := testmaster.Start(t, &testmaster.Config{LaxShutdown: true})
	m.User(t, "carol", "terminal password", false)
	base := m.URL

	home := t.TempDir()
	c, out, errOut := testCLI(home, nil, "")
	c.isTerminal = func() bool { return true }
	c.readPassword = func() ([]byte, error) { return []byte("terminal password"), nil }
	require.Equal(t, exitOK, c.run(context.Background(), []string{"login", "--server", base + "/", "--username", "carol"}), errOut.String())
	assert.Contains(t, errOut.String(), "Password for carol at "+base+": ")
	assert.Contains(t, out.String(), "logged in to "+base+" as carol")

	raw, err := os.ReadFile(filepath.Join(home, "tidewatch", sessionFile))
	require.NoError(t, err)
	var s session
	require.NoError(t, json.Unmarshal(raw, &s))
	assert.Equal(t, base, s.Server)
	assert.Equal(t, "carol", s.Username)
	assert.NotEmpty(t, s.Token)
	assert.False(t, s.Admin)

	// A wrong password says so.
	c, _, errOut = testCLI(home, nil, "not the password\n")
	assert.Equal(t, exitFail, c.run(context.Background(), []string{"login", "--server", base, "--username", "carol", "--password-stdin"}))
	assert.Contains(t, errOut.String(), "wrong username or password")

	// A non-admin asking for workers is told why not.
	c, _, errOut = testCLI(home, nil, "")
	c.now = time.Now
	assert.Equal(t, exitFail, c.run(context.Background(), []string{"workers"}))
	assert.Contains(t, errOut.String(), "carol is not an admin")

	// A token the server no longer accepts (here: signed by another key).
	s.Token = strings.Repeat("x", 20)
	writeSession(t, filepath.Join(home, "tidewatch"), s)
	c, _, errOut = testCLI(home, nil, "")
	c.now = time.Now
	assert.Equal(t, exitFail, c.run(context.Background(), []string{"watch"}))
	assert.Contains(t, errOut.String(), "session expired or revoked (the server refused it); run: tidewatch login --server "+base+" --username carol")
}

func TestDeviceIDIsStable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
	a, err := deviceID(dir)
	require.NoError(t, err)
	b, err := deviceID(dir)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Regexp(t, `^cli-[A-Z2-7]{20}$`, a)
	fi, err := os.Stat(filepath.Join(dir, deviceFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestStatePathPerServerAndUser(t *testing.T) {
	a := statePath("/c", &session{Server: "http://a", UserID: "usr-1"})
	assert.Equal(t, a, statePath("/c", &session{Server: "http://a", UserID: "usr-1", Token: "other"}))
	assert.NotEqual(t, a, statePath("/c", &session{Server: "http://b", UserID: "usr-1"}))
	assert.NotEqual(t, a, statePath("/c", &session{Server: "http://a", UserID: "usr-2"}))
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"用户B: 太有趣了!", "用户B: 太有趣了!"},
		{"two\nlines\r\tx", "two lines  x"},
		{"\x1b[2J\x1b]0;title\x07evil", "[2J]0;titleevil"},
		{"a\u202eb\u2066c", "abc"},
		{"\u0085next", "next"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, clean(tt.in), "%q", tt.in)
	}
}

func TestHeartbeat(t *testing.T) {
	assert.Equal(t, "never", heartbeat(0, fixedNow))
	got := heartbeat(fixedNow.Add(-12*time.Second).Unix(), fixedNow)
	assert.Equal(t, fixedNow.Add(-12*time.Second).Local().Format("2006-01-02 15:04:05")+" (12s ago)", got)
}
