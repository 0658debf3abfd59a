package cliflag

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mapEnv returns a LookupEnv over m.
func mapEnv(m map[string]string) LookupEnv {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ flag, want string }{
		{"data", "TIDEWATCH_DATA"},
		{"heartbeat-interval", "TIDEWATCH_HEARTBEAT_INTERVAL"},
		{"trust-forwarded-for", "TIDEWATCH_TRUST_FORWARDED_FOR"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, EnvName(tt.flag), tt.flag)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantCode   int
		wantStderr string
	}{
		{name: "success", err: nil, wantCode: ExitOK},
		{name: "help shown", err: ErrHelpShown, wantCode: ExitOK},
		{name: "help shown wrapped", err: fmt.Errorf("serve: %w", ErrHelpShown), wantCode: ExitOK},
		{name: "usage", err: Usagef("unknown command %q", "launch"), wantCode: ExitUsage, wantStderr: "prog: unknown command \"launch\"\n"},
		{name: "usage wrapped prints only the usage message", err: fmt.Errorf("outer: %w", Usagef("bad")), wantCode: ExitUsage, wantStderr: "prog: bad\n"},
		{name: "failure", err: errors.New("disk full"), wantCode: ExitFail, wantStderr: "prog: disk full\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			assert.Equal(t, tt.wantCode, ExitCode(&stderr, "prog", tt.err))
			assert.Equal(t, tt.wantStderr, stderr.String())
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		nilEnv    bool
		wantPos   []string
		wantData  string
		wantAdmin bool
		wantEvery time.Duration
		wantErr   string
		wantHelp  bool
	}{
		{name: "defaults", wantData: "/default", wantEvery: time.Second},
		{name: "positionals between flags", args: []string{"one", "--data", "/flag", "two", "-every=2s", "three"}, wantPos: []string{"one", "two", "three"}, wantData: "/flag", wantEvery: 2 * time.Second},
		{name: "env when flag not given", env: map[string]string{"TIDEWATCH_DATA": "/env", "TIDEWATCH_EVERY": "3s"}, wantData: "/env", wantEvery: 3 * time.Second},
		{name: "flag beats env", args: []string{"--data", "/flag"}, env: map[string]string{"TIDEWATCH_DATA": "/env"}, wantData: "/flag", wantEvery: time.Second},
		{name: "flag set to its default still beats env", args: []string{"--every", "1s"}, env: map[string]string{"TIDEWATCH_EVERY": "9s"}, wantData: "/default", wantEvery: time.Second},
		{name: "empty env value is still a value", env: map[string]string{"TIDEWATCH_DATA": ""}, wantData: "", wantEvery: time.Second},
		{name: "unlisted flags ignore env", env: map[string]string{"TIDEWATCH_ADMIN": "true"}, wantData: "/default", wantEvery: time.Second},
		{name: "unlisted flags still parse", args: []string{"--admin"}, wantData: "/default", wantAdmin: true, wantEvery: time.Second},
		{name: "nil env", nilEnv: true, args: []string{"x"}, wantPos: []string{"x"}, wantData: "/default", wantEvery: time.Second},
		{name: "bad env value", env: map[string]string{"TIDEWATCH_EVERY": "soon"}, wantErr: `invalid value "soon" for TIDEWATCH_EVERY: parse error`},
		{name: "bad flag value", args: []string{"--every", "forever"}, wantErr: `demo: invalid value "forever" for flag -every: parse error (see --help)`},
		{name: "unknown flag", args: []string{"--verbose"}, wantErr: "demo: flag provided but not defined: -verbose (see --help)"},
		{name: "help", args: []string{"one", "--help"}, wantHelp: true},
		{name: "short help", args: []string{"-h"}, wantHelp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := New("demo", "Usage: demo\n", "every")
			cmd.AddEnv("data")
			data := cmd.Flags.String("data", "/default", "data directory")
			every := cmd.Flags.Duration("every", time.Second, "period")
			admin := cmd.Flags.Bool("admin", false, "make an admin")
			env := mapEnv(tt.env)
			if tt.nilEnv {
				env = nil
			}
			var stdout bytes.Buffer
			pos, err := cmd.Parse(tt.args, &stdout, env)
			switch {
			case tt.wantHelp:
				require.ErrorIs(t, err, ErrHelpShown)
				assert.Contains(t, stdout.String(), "Usage: demo\n\nFlags:\n")
				return
			case tt.wantErr != "":
				var ue *UsageError
				require.ErrorAs(t, err, &ue, "bad usage exits 2")
				assert.Equal(t, tt.wantErr, ue.Error())
				return
			}
			require.NoError(t, err)
			assert.Empty(t, stdout.String(), "only help writes")
			assert.Equal(t, tt.wantPos, pos)
			assert.Equal(t, tt.wantData, *data)
			assert.Equal(t, tt.wantEvery, *every)
			assert.Equal(t, tt.wantAdmin, *admin)
		})
	}
}

func TestPrintHelp(t *testing.T) {
	tests := []struct {
		name     string
		envFlags []string
		want     []string
		wantNot  string
	}{
		{
			name:     "with environment",
			envFlags: []string{"data", "heartbeat-interval"},
			want: []string{
				"Usage: demo [flags]\n\nFlags:\n",
				"  -data string\n    \tdata directory\n",
				"\nEnvironment (used when the flag is not given): TIDEWATCH_DATA, TIDEWATCH_HEARTBEAT_INTERVAL\n",
			},
		},
		{
			name:    "without environment",
			want:    []string{"Usage: demo [flags]\n\nFlags:\n", "  -data string\n"},
			wantNot: "Environment",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := New("demo", "Usage: demo [flags]\n", tt.envFlags...)
			cmd.Flags.String("data", "", "data directory")
			cmd.Flags.Duration("heartbeat-interval", time.Second, "period")
			var out bytes.Buffer
			cmd.PrintHelp(&out)
			for _, w := range tt.want {
				assert.Contains(t, out.String(), w)
			}
			if tt.wantNot != "" {
				assert.NotContains(t, out.String(), tt.wantNot)
			}
			assert.Equal(t, io.Discard, cmd.Flags.Output(), "the flag set is silent again after help")
		})
	}
}

func TestNoArgs(t *testing.T) {
	tests := []struct {
		name    string
		pos     []string
		wantErr string
	}{
		{name: "none"},
		{name: "empty", pos: []string{}},
		{name: "one", pos: []string{"now"}, wantErr: `token list takes no arguments, got "now"`},
		{name: "two", pos: []string{"a", "b"}, wantErr: `token list takes no arguments, got "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NoArgs("token list", tt.pos)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			var ue *UsageError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, tt.wantErr, ue.Error())
		})
	}
}
