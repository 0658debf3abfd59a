package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master"
	"github.com/tidewatch/tidewatch/master/hub"
)

// testCLI returns a cli over buffers with the given environment.
func testCLI(env map[string]string, stdin string) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &cli{
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errOut,
		env: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
	}, &out, &errOut
}

func TestParseServe(t *testing.T) {
	defaults := serveOptions{
		listen: master.DefaultListen, data: "/d", logLevel: "info", logFormat: "text",
		heartbeatInterval: hub.DefaultHeartbeatInterval, livenessTimeout: hub.DefaultLivenessTimeout,
		disconnectGrace: hub.DefaultDisconnectGrace, assignAckTimeout: hub.DefaultAssignAckTimeout,
		sweepInterval: hub.DefaultSweepInterval, retention: master.DefaultRetention,
		pruneInterval: master.DefaultPruneInterval, tokenTTL: master.DefaultTokenTTL,
		shutdownTimeout: master.DefaultShutdownTimeout, loginTimeout: hub.DefaultLoginTimeout,
	}
	with := func(f func(o *serveOptions)) serveOptions {
		o := defaults
		f(&o)
		return o
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    serveOptions
		wantErr string
	}{
		{name: "defaults", args: []string{"--data", "/d"}, want: defaults},
		{name: "data from env", env: map[string]string{"TIDEWATCH_DATA": "/d"}, want: defaults},
		{
			name: "proxy trust and login timeout",
			args: []string{"--data", "/d", "--trust-forwarded-for", "--login-timeout", "2m"},
			want: with(func(o *serveOptions) { o.trustForwarded, o.loginTimeout = true, 2*time.Minute }),
		},
		{
			name: "flag beats env",
			args: []string{"--data", "/d", "--listen", "127.0.0.1:9000", "--heartbeat-interval", "2s"},
			env:  map[string]string{"TIDEWATCH_DATA": "/other", "TIDEWATCH_LISTEN": "0.0.0.0:1", "TIDEWATCH_HEARTBEAT_INTERVAL": "5s"},
			want: with(func(o *serveOptions) { o.listen = "127.0.0.1:9000"; o.heartbeatInterval = 2 * time.Second }),
		},
		{
			name: "every duration from env",
			args: []string{"-data=/d"},
			env: map[string]string{
				"TIDEWATCH_HEARTBEAT_INTERVAL": "1s", "TIDEWATCH_LIVENESS_TIMEOUT": "3s",
				"TIDEWATCH_DISCONNECT_GRACE": "4s", "TIDEWATCH_ASSIGN_ACK_TIMEOUT": "5s",
				"TIDEWATCH_SWEEP_INTERVAL": "100ms", "TIDEWATCH_RETENTION": "48h",
				"TIDEWATCH_PRUNE_INTERVAL": "10m", "TIDEWATCH_TOKEN_TTL": "1h",
				"TIDEWATCH_SHUTDOWN_TIMEOUT": "2s", "TIDEWATCH_LOG_LEVEL": "debug", "TIDEWATCH_LOG_FORMAT": "json",
			},
			want: with(func(o *serveOptions) {
				o.heartbeatInterval, o.livenessTimeout, o.disconnectGrace = time.Second, 3*time.Second, 4*time.Second
				o.assignAckTimeout, o.sweepInterval, o.retention = 5*time.Second, 100*time.Millisecond, 48*time.Hour
				o.pruneInterval, o.tokenTTL, o.shutdownTimeout = 10*time.Minute, time.Hour, 2*time.Second
				o.logLevel, o.logFormat = "debug", "json"
			}),
		},
		{name: "empty env value is still a value", args: []string{"--data", "/d"}, env: map[string]string{"TIDEWATCH_LISTEN": ""}, wantErr: "--listen must not be empty"},
		{name: "no data", wantErr: "--data (or TIDEWATCH_DATA) is required"},
		{name: "bad env duration", args: []string{"--data", "/d"}, env: map[string]string{"TIDEWATCH_SWEEP_INTERVAL": "soon"}, wantErr: `invalid value "soon" for TIDEWATCH_SWEEP_INTERVAL`},
		{name: "bad flag duration", args: []string{"--data", "/d", "--retention", "forever"}, wantErr: `invalid value "forever" for flag -retention`},
		{name: "zero duration", args: []string{"--data", "/d", "--sweep-interval", "0s"}, wantErr: "--sweep-interval must be positive"},
		{name: "negative duration", args: []string{"--data", "/d", "--token-ttl", "-1h"}, wantErr: "--token-ttl must be positive"},
		{name: "liveness not above heartbeat", args: []string{"--data", "/d", "--heartbeat-interval", "30s"}, wantErr: "--liveness-timeout (30s) must be longer"},
		{name: "bad log format", args: []string{"--data", "/d", "--log-format", "xml"}, wantErr: "--log-format must be text or json"},
		{name: "bad log level", args: []string{"--data", "/d", "--log-level", "loud"}, wantErr: "--log-level must be"},
		{name: "unknown flag", args: []string{"--data", "/d", "--verbose"}, wantErr: "flag provided but not defined: -verbose"},
		{name: "stray argument", args: []string{"--data", "/d", "now"}, wantErr: `serve takes no arguments, got "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := testCLI(tt.env, "")
			got, err := c.parseServe(tt.args)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				var ue *usageError
				assert.ErrorAs(t, err, &ue, "bad usage exits 2")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadPassword(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "line", in: "s3cret-pass\n", want: "s3cret-pass"},
		{name: "crlf", in: "s3cret-pass\r\n", want: "s3cret-pass"},
		{name: "no newline", in: "s3cret-pass", want: "s3cret-pass"},
		{name: "only first line", in: "first-line-pw\nsecond\n", want: "first-line-pw"},
		{name: "spaces kept", in: " with spaces \n", want: " with spaces "},
		{name: "empty", in: "", wantErr: "no password"},
		{name: "blank line", in: "\n", wantErr: "no password"},
		{name: "short", in: "short\n", wantErr: "at least 8"},
		{name: "long", in: strings.Repeat("p", 73) + "\n", wantErr: "at most 72"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readPassword(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no command", wantCode: exitUsage, wantStderr: "a command is required"},
		{name: "unknown command", args: []string{"launch"}, wantCode: exitUsage, wantStderr: `unknown command "launch"`},
		{name: "help", args: []string{"--help"}, wantCode: exitOK, wantStdout: "Commands:"},
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantStdout: "tidewatch-master dev (commit none, built unknown)"},
		{name: "--version", args: []string{"--version"}, wantCode: exitOK, wantStdout: "tidewatch-master dev"},
		{name: "user alone", args: []string{"user"}, wantCode: exitUsage, wantStderr: "needs a subcommand"},
		{name: "user unknown", args: []string{"user", "delete"}, wantCode: exitUsage, wantStderr: `unknown command "user delete"`},
		{name: "serve help", args: []string{"serve", "--help"}, wantCode: exitOK, wantStdout: "TIDEWATCH_HEARTBEAT_INTERVAL"},
		{name: "user add help", args: []string{"user", "add", "-h"}, wantCode: exitOK, wantStdout: "--password-stdin"},
		{name: "user add without stdin flag", args: []string{"user", "add", "--data", data, "--username", "a"}, wantCode: exitUsage, wantStderr: "--password-stdin is required"},
		{name: "user add without username", args: []string{"user", "add", "--data", data, "--password-stdin"}, wantCode: exitUsage, wantStderr: "--username is required"},
		{name: "user add bad username", args: []string{"user", "add", "--data", data, "--username", "a b", "--password-stdin"}, wantCode: exitUsage, wantStderr: "spaces"},
		{name: "user add without data", args: []string{"user", "add", "--username", "a", "--password-stdin"}, stdin: "long enough\n", wantCode: exitUsage, wantStderr: "--data (or TIDEWATCH_DATA) is required"},
		{name: "user add short password", args: []string{"user", "add", "--data", data, "--username", "a", "--password-stdin"}, stdin: "short\n", wantCode: exitFail, wantStderr: "at least 8"},
		{name: "user add", args: []string{"user", "add", "--username", "root", "--admin", "--password-stdin"}, env: map[string]string{"TIDEWATCH_DATA": data}, stdin: "long enough\n", wantCode: exitOK, wantStdout: "created admin root"},
		{name: "user add twice", args: []string{"user", "add", "--data", data, "--username", "root", "--password-stdin"}, stdin: "long enough\n", wantCode: exitFail, wantStderr: `user "root" already exists`},
		{name: "user list", args: []string{"user", "list", "--data", data}, wantCode: exitOK, wantStdout: "root"},
		{name: "token create without name", args: []string{"token", "create", "--data", data}, wantCode: exitUsage, wantStderr: "--name is required"},
		{name: "token revoke without id", args: []string{"token", "revoke", "--data", data}, wantCode: exitUsage, wantStderr: "exactly one token id"},
		{name: "token revoke unknown", args: []string{"token", "revoke", "wtk-none", "--data", data}, wantCode: exitFail, wantStderr: `no enrollment token "wtk-none"`},
		{name: "token list empty", args: []string{"token", "list", "--data", data}, wantCode: exitOK, wantStdout: "ID"},
		{name: "list with argument", args: []string{"token", "list", "--data", data, "extra"}, wantCode: exitUsage, wantStderr: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, out, errOut := testCLI(tt.env, tt.stdin)
			code := c.run(context.Background(), tt.args)
			assert.Equal(t, tt.wantCode, code, "stdout: %s\nstderr: %s", out, errOut)
			assert.Contains(t, out.String(), tt.wantStdout)
			assert.Contains(t, errOut.String(), tt.wantStderr)
			if tt.wantCode != exitOK {
				assert.Contains(t, errOut.String(), "tidewatch-master: ", "errors name the program")
			}
		})
	}
}

func TestTokenLifecycleOffline(t *testing.T) {
	data := t.TempDir()
	c, out, errOut := testCLI(nil, "")
	require.Equal(t, exitOK, c.run(context.Background(), []string{"token", "create", "--data", data, "--name", "kitchen pi"}), errOut.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	secret := lines[len(lines)-1]
	assert.True(t, strings.HasPrefix(secret, "twk_"), secret)
	assert.NotContains(t, errOut.String(), secret, "the hint does not repeat the secret")
	assert.Contains(t, errOut.String(), "shown only this once")

	c, out, _ = testCLI(nil, "")
	require.Equal(t, exitOK, c.run(context.Background(), []string{"token", "list", "--data", data}))
	assert.Contains(t, out.String(), "kitchen pi")
	assert.NotContains(t, out.String(), secret)
	id := strings.Fields(strings.Split(out.String(), "\n")[1])[0]

	c, out, _ = testCLI(nil, "")
	require.Equal(t, exitOK, c.run(context.Background(), []string{"token", "revoke", "--data", data, id}))
	assert.Contains(t, out.String(), "revoked "+id)

	st, err := master.OpenStore(context.Background(), data, nil)
	require.NoError(t, err)
	defer func() { _ = st.Close() }()
	_, _, err = st.VerifyWorkerToken(context.Background(), secret)
	assert.Error(t, err, "revoked")
}
