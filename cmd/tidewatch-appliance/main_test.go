package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// invoke runs the command line with an empty environment.
func invoke(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, env: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}}
	code = c.run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantCode   int
		wantOut    string
		wantErrOut string
	}{
		{"no command", nil, nil, 2, "", "a command is required"},
		{"unknown", nil, []string{"fly"}, 2, "", `unknown command "fly"`},
		{"version", nil, []string{"--version"}, 0, "tidewatch-appliance dev", ""},
		{"help", nil, []string{"help"}, 0, "selftest", ""},
		{"run help", nil, []string{"run", "--help"}, 0, "-test-monitor", ""},
		{"bad flag value", nil, []string{"run", "--data", dir, "--heartbeat", "soon"}, 2, "", "heartbeat"},
		{"bad config names the field", nil, []string{"run", "--data", dir, "--max-accounts", "0"}, 2, "", "max_accounts"},
		{"bad env names the variable", map[string]string{"TIDEWATCH_MASTER": "ftp://x"}, []string{"run", "--data", dir}, 2, "", "master"},
		{"stray argument", nil, []string{"selftest", "extra"}, 2, "", "unexpected arguments"},
		{"service bad listen", nil, []string{"status", "--setup-listen", "nope"}, 2, "", "--setup-listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := invoke(t, tc.env, tc.args...)
			assert.Equal(t, tc.wantCode, code, "stderr: %s", errOut)
			assert.Contains(t, out, tc.wantOut)
			assert.Contains(t, errOut, tc.wantErrOut)
		})
	}
}

func TestSelftest(t *testing.T) {
	code, out, errOut := invoke(t, nil, "selftest", "--data", t.TempDir())
	require.Equal(t, 0, code, errOut)
	var rep struct {
		GOOS      string `json:"goos"`
		Heartbeat struct {
			WorkerID    string  `json:"worker_id"`
			MemoryUsage float64 `json:"memory_usage"`
			System      struct {
				MemoryTotalMB float64 `json:"memory_total_mb"`
				NumCPU        int     `json:"num_cpu"`
			} `json:"system"`
		} `json:"heartbeat"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.NotEmpty(t, rep.GOOS)
	assert.Equal(t, "selftest", rep.Heartbeat.WorkerID)
	assert.Positive(t, rep.Heartbeat.MemoryUsage)
	assert.Positive(t, rep.Heartbeat.System.MemoryTotalMB)
	assert.Positive(t, rep.Heartbeat.System.NumCPU)
}
