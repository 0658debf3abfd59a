package config

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envMap returns a LookupEnv over m, so tests never touch the process env.
func envMap(m map[string]string) LookupEnv {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestNewDefaults(t *testing.T) {
	cfg := New("/data")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"data_dir", cfg.DataDir, "/data"},
		{"max_accounts", cfg.MaxAccounts, DefaultMaxAccounts},
		{"setup_listen", cfg.SetupListen, ":7601"},
		{"heartbeat", cfg.HeartbeatInterval, 10 * time.Second},
		{"connect_timeout", cfg.ConnectTimeout, 5 * time.Second},
		{"reconnect_min", cfg.ReconnectMin, time.Second},
		{"reconnect_max", cfg.ReconnectMax, 30 * time.Second},
		{"shutdown_grace", cfg.ShutdownGrace, DefaultShutdownGrace},
		{"outbox_resend", cfg.OutboxResendInterval, DefaultOutboxResendInterval},
		{"douyin_www_origin", cfg.DouyinWWWOrigin, "https://www.douyin.com"},
		{"douyin_creator_origin", cfg.DouyinCreatorOrigin, "https://creator.douyin.com"},
		{"master", cfg.MasterURL, ""},
		{"token", cfg.Token, ""},
		{"configured", cfg.Configured(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.got)
		})
	}
	assert.NoError(t, cfg.Validate(), "defaults must be valid")
}

func TestConfigured(t *testing.T) {
	tests := []struct {
		name   string
		master string
		token  string
		hash   string
		want   bool
	}{
		{"all set", "http://m", "tok", "$2a$hash", true},
		{"no master", "", "tok", "$2a$hash", false},
		{"no token", "http://m", "", "$2a$hash", false},
		{"no password", "http://m", "tok", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := New("/d")
			cfg.MasterURL, cfg.Token, cfg.SetupPasswordHash = tc.master, tc.token, tc.hash
			assert.Equal(t, tc.want, cfg.Configured())
		})
	}
}

func TestLoadFirstRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")

	cfg, err := Load(dir)
	require.NoError(t, err)
	assert.Regexp(t, `^tw-[0-9a-f]{16}$`, cfg.WorkerID)
	assert.Equal(t, DefaultMaxAccounts, cfg.MaxAccounts)
	assert.False(t, cfg.Configured())

	st, err := os.Stat(filepath.Join(dir, FileName))
	require.NoError(t, err, "the generated worker id must be written at once")
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	_, err = os.Stat(filepath.Join(dir, KeyFileName))
	assert.ErrorIs(t, err, os.ErrNotExist, "no key file without a token to seal")

	again, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, cfg.WorkerID, again.WorkerID, "worker id must be stable")
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	const token = "enroll-7f3a9c2d-very-secret-token"

	cfg := New(dir)
	cfg.MasterURL = "wss://master.example:8443"
	cfg.Token = token
	cfg.WorkerID = "tw-pi-kitchen"
	cfg.WorkerName = "Kitchen Pi"
	cfg.MaxAccounts = 7
	cfg.SetupListen = "127.0.0.1:9000"
	cfg.HeartbeatInterval = 3 * time.Second
	cfg.ConnectTimeout = 2 * time.Second
	cfg.ReconnectMin = 250 * time.Millisecond
	cfg.ReconnectMax = 4 * time.Second
	cfg.ShutdownGrace = 7 * time.Second
	cfg.OutboxResendInterval = 9 * time.Second
	cfg.ChromiumPath = "/usr/bin/chromium"
	cfg.DouyinWWWOrigin = "http://127.0.0.1:1234"
	cfg.DouyinCreatorOrigin = "http://127.0.0.1:1235"
	cfg.SetupPasswordHash = "$2a$10$abcdefghijklmnopqrstuv"
	require.NoError(t, Save(cfg))

	got, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
	assert.True(t, got.Configured())

	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), token, "the token must not be stored in plaintext")
	assert.NotContains(t, string(raw), "very-secret", "no fragment of the token on disk")
	assert.Contains(t, string(raw), `"token_sealed"`)

	for _, name := range []string{FileName, KeyFileName} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
	}
	key, err := os.ReadFile(filepath.Join(dir, KeyFileName))
	require.NoError(t, err)
	assert.Len(t, key, 32)

	// No temporary files are left behind.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2)

	// A fresh nonce per save: the sealed text changes even if the token does not.
	require.NoError(t, Save(got))
	raw2, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	assert.NotEqual(t, string(raw), string(raw2))
}

func TestLoadSealedTokenErrors(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		wantErr string
	}{
		{"key file missing", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, KeyFileName)))
		}, "key file secret.key is missing"},
		{"key file replaced", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, KeyFileName), bytes.Repeat([]byte{1}, 32), 0o600))
		}, "opening sealed token"},
		{"key file truncated", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, KeyFileName), []byte{1, 2}, 0o600))
		}, "has 2 bytes, want 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := New(dir)
			cfg.WorkerID = "tw-x"
			cfg.Token = "secret"
			require.NoError(t, Save(cfg))
			tc.corrupt(t, dir)
			_, err := Load(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.NotContains(t, err.Error(), "secret\"", "errors must not carry the token")
		})
	}
}

func TestLoadBadFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantErr string
	}{
		{"not json", "{", "decoding json"},
		{"bad duration", `{"worker_id":"tw-1","heartbeat_interval":"soon"}`, "heartbeat_interval"},
		{"bad sealed token", `{"worker_id":"tw-1","token_sealed":"!!!"}`, "decoding sealed token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), []byte(tc.content), 0o600))
			_, err := Load(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestStoreSavesIntoItsDir(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Dir: dir}
	cfg, err := s.Load(context.Background())
	require.NoError(t, err)
	cfg.DataDir = filepath.Join(t.TempDir(), "elsewhere")
	cfg.WorkerName = "via store"
	require.NoError(t, s.Save(context.Background(), cfg))

	got, err := s.Load(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "via store", got.WorkerName)
	assert.Equal(t, dir, got.DataDir)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(c *Config)
		wantErr string
	}{
		{"data dir empty", func(c *Config) { c.DataDir = "" }, "data: must not be empty"},
		{"master not a url", func(c *Config) { c.MasterURL = "master.local" }, "master: must be an http(s) or ws(s) URL"},
		{"master bad scheme", func(c *Config) { c.MasterURL = "ftp://m" }, "master: must be an http(s) or ws(s) URL"},
		{"master no host", func(c *Config) { c.MasterURL = "http://" }, "master: must be an http(s) or ws(s) URL"},
		{"worker id bad chars", func(c *Config) { c.WorkerID = "tw 1/2" }, "worker_id: must be 1 to 64"},
		{"worker id too long", func(c *Config) { c.WorkerID = strings.Repeat("a", 65) }, "worker_id: must be 1 to 64"},
		{"worker name too long", func(c *Config) { c.WorkerName = strings.Repeat("名", 65) }, "worker_name: must be at most 64 characters"},
		{"max accounts zero", func(c *Config) { c.MaxAccounts = 0 }, "max_accounts: must be between 1 and 100"},
		{"max accounts too many", func(c *Config) { c.MaxAccounts = 101 }, "max_accounts: must be between 1 and 100"},
		{"setup listen no port", func(c *Config) { c.SetupListen = "localhost" }, "setup_listen: must be host:port"},
		{"heartbeat zero", func(c *Config) { c.HeartbeatInterval = 0 }, "heartbeat: must be greater than 0"},
		{"connect timeout negative", func(c *Config) { c.ConnectTimeout = -time.Second }, "connect_timeout: must be greater than 0"},
		{"reconnect min zero", func(c *Config) { c.ReconnectMin = 0 }, "reconnect_min: must be greater than 0"},
		{"reconnect max zero", func(c *Config) { c.ReconnectMax = 0 }, "reconnect_max: must be greater than 0"},
		{"reconnect max below min", func(c *Config) { c.ReconnectMin, c.ReconnectMax = 5*time.Second, time.Second }, "reconnect_max: must not be less than reconnect_min"},
		{"shutdown grace zero", func(c *Config) { c.ShutdownGrace = 0 }, "shutdown_grace: must be greater than 0"},
		{"outbox resend zero", func(c *Config) { c.OutboxResendInterval = 0 }, "outbox_resend: must be greater than 0"},
		{"www origin bad", func(c *Config) { c.DouyinWWWOrigin = "douyin.com" }, "douyin_www_origin: must be an http(s) URL"},
		{"creator origin ws", func(c *Config) { c.DouyinCreatorOrigin = "ws://x" }, "douyin_creator_origin: must be an http(s) URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := New("/d")
			cfg.MasterURL = "https://master.example"
			cfg.WorkerID = "tw-1"
			require.NoError(t, cfg.Validate(), "precondition: valid base")
			tc.modify(cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			probs := cfg.Problems()
			require.Len(t, probs, 1, "exactly one problem expected: %v", err)
		})
	}

	t.Run("all problems reported", func(t *testing.T) {
		cfg := New("/d")
		cfg.MaxAccounts = 0
		cfg.HeartbeatInterval = 0
		err := cfg.Validate()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "max_accounts:")
		assert.Contains(t, err.Error(), "heartbeat:")
	})

	t.Run("valid master schemes", func(t *testing.T) {
		for _, u := range []string{"http://m:1", "https://m", "ws://m", "wss://m/socket.io/"} {
			cfg := New("/d")
			cfg.MasterURL = u
			assert.NoError(t, cfg.Validate(), u)
		}
	})
}

func TestStringHidesSecrets(t *testing.T) {
	cfg := New("/d")
	cfg.Token = "tok-123456"
	cfg.SetupPasswordHash = "$2a$10$hashhashhash"
	s := cfg.String()
	assert.NotContains(t, s, "tok-123456")
	assert.NotContains(t, s, "hashhash")
	assert.Contains(t, s, "token=set")
}

func TestFlagsAndEnvPrecedence(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		check  func(t *testing.T, c *Config)
		wantIn string
	}{
		{
			name: "file only",
			check: func(t *testing.T, c *Config) {
				assert.Equal(t, "http://file:1", c.MasterURL)
				assert.Equal(t, "file-token", c.Token)
				assert.Equal(t, 3, c.MaxAccounts)
			},
		},
		{
			name: "env over file",
			env: map[string]string{
				"TIDEWATCH_MASTER":       "http://env:2",
				"TIDEWATCH_TOKEN":        "env-token",
				"TIDEWATCH_MAX_ACCOUNTS": "4",
				"TIDEWATCH_HEARTBEAT":    "2s",
				"TIDEWATCH_WORKER_NAME":  "",
			},
			check: func(t *testing.T, c *Config) {
				assert.Equal(t, "http://env:2", c.MasterURL)
				assert.Equal(t, "env-token", c.Token)
				assert.Equal(t, 4, c.MaxAccounts)
				assert.Equal(t, 2*time.Second, c.HeartbeatInterval)
				assert.Equal(t, "file name", c.WorkerName, "an empty variable counts as unset")
			},
		},
		{
			name: "flag over env over file",
			args: []string{"--master", "http://flag:3", "--max-accounts=5", "--connect-timeout", "750ms"},
			env: map[string]string{
				"TIDEWATCH_MASTER":          "http://env:2",
				"TIDEWATCH_TOKEN":           "env-token",
				"TIDEWATCH_CONNECT_TIMEOUT": "9s",
			},
			check: func(t *testing.T, c *Config) {
				assert.Equal(t, "http://flag:3", c.MasterURL)
				assert.Equal(t, "env-token", c.Token, "env applies where no flag is set")
				assert.Equal(t, 5, c.MaxAccounts)
				assert.Equal(t, 750*time.Millisecond, c.ConnectTimeout)
			},
		},
		{
			name: "every flag",
			args: []string{
				"--token", "flag-token", "--worker-id", "tw-flag", "--worker-name", "Flag",
				"--setup-listen", "127.0.0.1:1", "--heartbeat", "1s", "--reconnect-min", "10ms",
				"--reconnect-max", "20ms", "--shutdown-grace", "3s", "--outbox-resend", "4s",
				"--chromium", "/opt/chromium", "--douyin-www-origin", "http://127.0.0.1:5",
				"--douyin-creator-origin", "http://127.0.0.1:6",
			},
			check: func(t *testing.T, c *Config) {
				assert.Equal(t, "flag-token", c.Token)
				assert.Equal(t, "tw-flag", c.WorkerID)
				assert.Equal(t, "Flag", c.WorkerName)
				assert.Equal(t, "127.0.0.1:1", c.SetupListen)
				assert.Equal(t, time.Second, c.HeartbeatInterval)
				assert.Equal(t, 10*time.Millisecond, c.ReconnectMin)
				assert.Equal(t, 20*time.Millisecond, c.ReconnectMax)
				assert.Equal(t, 3*time.Second, c.ShutdownGrace)
				assert.Equal(t, 4*time.Second, c.OutboxResendInterval)
				assert.Equal(t, "/opt/chromium", c.ChromiumPath)
				assert.Equal(t, "http://127.0.0.1:5", c.DouyinWWWOrigin)
				assert.Equal(t, "http://127.0.0.1:6", c.DouyinCreatorOrigin)
			},
		},
		{
			name:   "bad env value names the variable",
			env:    map[string]string{"TIDEWATCH_HEARTBEAT": "often"},
			wantIn: "TIDEWATCH_HEARTBEAT",
		},
		{
			name:   "invalid result is rejected",
			env:    map[string]string{"TIDEWATCH_MAX_ACCOUNTS": "500"},
			wantIn: "max_accounts: must be between 1 and 100",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := New(dir)
			file.WorkerID = "tw-file"
			file.MasterURL = "http://file:1"
			file.Token = "file-token"
			file.WorkerName = "file name"
			file.MaxAccounts = 3
			require.NoError(t, Save(file))

			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fl := RegisterFlags(fs)
			require.NoError(t, fs.Parse(append([]string{"--data", dir}, tc.args...)))

			env := tc.env
			if env == nil {
				env = map[string]string{}
			}
			cfg, err := LoadLayered(fl, envMap(env))
			if tc.wantIn != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantIn)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, dir, cfg.DataDir)
			tc.check(t, cfg)
		})
	}
}

func TestFlagsDataDir(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"default", nil, nil, DefaultDataDir},
		{"env", nil, map[string]string{"TIDEWATCH_DATA": "/env"}, "/env"},
		{"flag beats env", []string{"--data=/flag"}, map[string]string{"TIDEWATCH_DATA": "/env"}, "/flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fl := RegisterFlags(fs)
			require.NoError(t, fs.Parse(tc.args))
			assert.Equal(t, tc.want, fl.DataDir(envMap(tc.env)))
		})
	}
}

func TestFlagParseErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"max accounts not a number", []string{"--max-accounts", "ten"}, "max-accounts"},
		{"heartbeat not a duration", []string{"--heartbeat", "10"}, "heartbeat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			RegisterFlags(fs)
			err := fs.Parse(tc.args)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestFlagUsageHidesToken(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"--token", "tok-should-not-show"}))
	fs.PrintDefaults()
	assert.Empty(t, fs.Lookup("token").Value.String())
	assert.Contains(t, out.String(), "TIDEWATCH_TOKEN")
	assert.NotContains(t, out.String(), "tok-should-not-show")
	assert.Equal(t, "TIDEWATCH_DOUYIN_WWW_ORIGIN", EnvName("douyin-www-origin"))
}
