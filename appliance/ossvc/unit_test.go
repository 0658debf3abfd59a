package ossvc

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// update rewrites the golden files from the current output.
var update = flag.Bool("update", false, "rewrite testdata golden files")

// packagedUnit is the unit the .deb package ships.
func packagedUnit() *UnitConfig {
	return &UnitConfig{
		BinaryPath: DefaultBinaryPath,
		DataDir:    DefaultDataDir,
		User:       "tidewatch",
		Group:      "tidewatch",
	}
}

func TestRenderUnit_golden(t *testing.T) {
	testCases := []struct {
		name   string
		cfg    *UnitConfig
		golden string
	}{{
		name:   "packaged",
		cfg:    packagedUnit(),
		golden: "packaged.service",
	}, {
		name: "custom",
		cfg: &UnitConfig{
			Name:         "tidewatch-lab",
			Description:  "Lab appliance at 100% duty",
			BinaryPath:   "/opt/tidewatch/bin/../bin/tidewatch-appliance",
			DataDir:      "/srv/tidewatch/",
			ExtraArgs:    []string{"--log-level", "debug", `--label=desk "A" $HOME 50% \o/`},
			RestartDelay: 1500 * time.Millisecond,
			StopTimeout:  time.Minute,
		},
		golden: "custom.service",
	}}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RenderUnit(tc.cfg)
			require.NoError(t, err)

			path := filepath.Join("testdata", tc.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
}

func TestRenderUnit_contents(t *testing.T) {
	got, err := RenderUnit(packagedUnit())
	require.NoError(t, err)

	// The lines other parts of the project rely on, checked one by one so
	// a golden-file update cannot silently drop them.
	for _, line := range []string{
		"After=network-online.target",
		"Wants=network-online.target",
		"ExecStart=/usr/bin/tidewatch-appliance run --data /var/lib/tidewatch",
		"Restart=on-failure",
		"RestartSec=10",
		"RestartPreventExitStatus=150",
		"SuccessExitStatus=150",
		"StandardOutput=journal",
		"User=tidewatch",
		"Group=tidewatch",
		"StateDirectory=tidewatch",
		"NoNewPrivileges=true",
		"ProtectSystem=full",
		"ProtectHome=true",
		"PrivateTmp=true",
		"ReadWritePaths=-/var/lib/tidewatch",
		"WantedBy=multi-user.target",
	} {
		assert.Contains(t, strings.Split(got, "\n"), line)
	}

	noUser, err := RenderUnit(&UnitConfig{BinaryPath: "/usr/bin/x", DataDir: "/srv/x"})
	require.NoError(t, err)
	assert.NotContains(t, noUser, "User=")
	assert.NotContains(t, noUser, "Group=")
	assert.NotContains(t, noUser, "StateDirectory", "only data dirs under /var/lib are state directories")
}

func TestRenderUnit_badConfig(t *testing.T) {
	withCfg := func(f func(c *UnitConfig)) *UnitConfig {
		c := packagedUnit()
		f(c)

		return c
	}

	testCases := []struct {
		name       string
		cfg        *UnitConfig
		wantErrMsg string
	}{{
		name:       "nil",
		cfg:        nil,
		wantErrMsg: "nil unit config",
	}, {
		name:       "empty binary",
		cfg:        withCfg(func(c *UnitConfig) { c.BinaryPath = "" }),
		wantErrMsg: "binary path: empty",
	}, {
		name:       "relative binary",
		cfg:        withCfg(func(c *UnitConfig) { c.BinaryPath = "bin/tidewatch-appliance" }),
		wantErrMsg: `binary path "bin/tidewatch-appliance": not absolute`,
	}, {
		name:       "empty data dir",
		cfg:        withCfg(func(c *UnitConfig) { c.DataDir = "" }),
		wantErrMsg: "data dir: empty",
	}, {
		name:       "relative data dir",
		cfg:        withCfg(func(c *UnitConfig) { c.DataDir = "./data" }),
		wantErrMsg: `data dir "./data": not absolute`,
	}, {
		name:       "data dir with spaces",
		cfg:        withCfg(func(c *UnitConfig) { c.DataDir = "/var/lib/tide watch" }),
		wantErrMsg: `data dir "/var/lib/tide watch": only letters, digits and "._+,:@=/-" are allowed`,
	}, {
		name:       "data dir with quotes",
		cfg:        withCfg(func(c *UnitConfig) { c.DataDir = `/var/lib/"tidewatch"` }),
		wantErrMsg: `data dir "/var/lib/\"tidewatch\"": only letters, digits and "._+,:@=/-" are allowed`,
	}, {
		name:       "data dir with specifier",
		cfg:        withCfg(func(c *UnitConfig) { c.DataDir = "/var/lib/%n" }),
		wantErrMsg: `data dir "/var/lib/%n": only letters, digits and "._+,:@=/-" are allowed`,
	}, {
		name:       "data dir with variable",
		cfg:        withCfg(func(c *UnitConfig) { c.DataDir = "/var/lib/$USER" }),
		wantErrMsg: `data dir "/var/lib/$USER": only letters, digits and "._+,:@=/-" are allowed`,
	}, {
		name:       "data dir with newline",
		cfg:        withCfg(func(c *UnitConfig) { c.DataDir = "/var/lib/x\nExecStartPre=/bin/evil" }),
		wantErrMsg: `data dir "/var/lib/x\nExecStartPre=/bin/evil": only letters, digits and "._+,:@=/-" are allowed`,
	}, {
		name:       "data dir is root",
		cfg:        withCfg(func(c *UnitConfig) { c.DataDir = "/var/.." }),
		wantErrMsg: "data dir: the root directory is not a data directory",
	}, {
		name:       "data dir under home",
		cfg:        withCfg(func(c *UnitConfig) { c.DataDir = "/home/pi/tidewatch" }),
		wantErrMsg: `data dir "/home/pi/tidewatch": inside /home, which the unit hides (ProtectHome=true)`,
	}, {
		name:       "binary with space",
		cfg:        withCfg(func(c *UnitConfig) { c.BinaryPath = "/opt/tide watch/bin" }),
		wantErrMsg: `binary path "/opt/tide watch/bin": only letters, digits and "._+,:@=/-" are allowed`,
	}, {
		name:       "bad name",
		cfg:        withCfg(func(c *UnitConfig) { c.Name = "tidewatch@1" }),
		wantErrMsg: `service name "tidewatch@1": want letters, digits, ":_.-"`,
	}, {
		name:       "description with newline",
		cfg:        withCfg(func(c *UnitConfig) { c.Description = "x\n[Service]" }),
		wantErrMsg: `description "x\n[Service]": control characters and braces are not allowed`,
	}, {
		name:       "bad user",
		cfg:        withCfg(func(c *UnitConfig) { c.User = "Tide Watch" }),
		wantErrMsg: `user "Tide Watch": want a system account name`,
	}, {
		name:       "bad group",
		cfg:        withCfg(func(c *UnitConfig) { c.Group = "root\n" }),
		wantErrMsg: `group "root\n": want a system account name`,
	}, {
		name:       "arg with newline",
		cfg:        withCfg(func(c *UnitConfig) { c.ExtraArgs = []string{"ok", "a\nb"} }),
		wantErrMsg: `extra argument 1: "a\nb": control characters are not allowed`,
	}, {
		name:       "arg with template",
		cfg:        withCfg(func(c *UnitConfig) { c.ExtraArgs = []string{"{{.Path}}"} }),
		wantErrMsg: `extra argument 0: "{{.Path}}": "{{" is not allowed`,
	}, {
		name:       "negative restart delay",
		cfg:        withCfg(func(c *UnitConfig) { c.RestartDelay = -time.Second }),
		wantErrMsg: "restart delay -1s: negative",
	}, {
		name:       "sub-millisecond stop timeout",
		cfg:        withCfg(func(c *UnitConfig) { c.StopTimeout = time.Microsecond }),
		wantErrMsg: "stop timeout 1µs: below systemd's millisecond resolution",
	}}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RenderUnit(tc.cfg)
			assert.EqualError(t, err, tc.wantErrMsg)
			assert.Empty(t, got)
		})
	}
}

func TestQuoteArg(t *testing.T) {
	testCases := []struct {
		arg  string
		want string
	}{
		{arg: "--log-level=debug", want: "--log-level=debug"},
		{arg: "two words", want: `"two words"`},
		{arg: "", want: `""`},
		{arg: `say "hi"`, want: `"say \"hi\""`},
		{arg: `back\slash`, want: `"back\\slash"`},
		{arg: "$HOME", want: `"$$HOME"`},
		{arg: "100%", want: `"100%%"`},
	}

	for _, tc := range testCases {
		t.Run(tc.arg, func(t *testing.T) {
			got, err := quoteArg(tc.arg)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestRenderUnit_systemdAnalyze checks rendered units with systemd's own
// parser. systemd-analyze verify prints parse problems it ignores but still
// exits 0, so any output fails the test.
func TestRenderUnit_systemdAnalyze(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}

	// verify checks that ExecStart is executable, so point it at a real
	// binary: the test binary itself.
	bin, err := os.Executable()
	require.NoError(t, err)
	if _, err = checkPath("binary", bin); err != nil {
		t.Skipf("test binary path not usable in a unit: %v", err)
	}

	testCases := []struct {
		name string
		cfg  *UnitConfig
	}{{
		name: "packaged",
		cfg:  &UnitConfig{BinaryPath: bin, DataDir: DefaultDataDir, User: "tidewatch", Group: "tidewatch"},
	}, {
		name: "quoted args",
		cfg: &UnitConfig{
			BinaryPath:   bin,
			DataDir:      "/srv/tidewatch",
			ExtraArgs:    []string{"--label", `desk "A" $HOME 50% \o/`},
			RestartDelay: 1500 * time.Millisecond,
		},
	}}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			unit, err := RenderUnit(tc.cfg)
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), DefaultServiceName+".service")
			require.NoError(t, os.WriteFile(path, []byte(unit), 0o644))

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out bytes.Buffer
			cmd := exec.CommandContext(ctx, analyze, "verify", "--man=no", path)
			cmd.Stdout, cmd.Stderr = &out, &out
			err = cmd.Run()
			assert.NoError(t, err, "output: %s", out.String())
			assert.Empty(t, out.String())
		})
	}
}
