package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// stubs stand in for the system commands the first-boot script calls; each
// records its arguments in $STUB_LOG. apt-get fails while $STUB_OFFLINE is
// set, as without a network.
var stubs = map[string]string{
	"dpkg": `#!/bin/sh
if [ "$1" = --print-architecture ]; then echo "$STUB_ARCH"; exit 0; fi
echo "dpkg $*" >>"$STUB_LOG"
`,
	"apt-get": `#!/bin/sh
echo "apt-get $*" >>"$STUB_LOG"
[ -z "$STUB_OFFLINE" ]
`,
	"systemctl": `#!/bin/sh
echo "systemctl $*" >>"$STUB_LOG"
`,
	"hostname": `#!/bin/sh
if [ "$1" = -I ]; then echo "192.168.1.50 fd00::50"; else echo tidewatch-pi; fi
`,
	"logger": `#!/bin/sh
echo "logger $*" >>"$STUB_LOG"
`,
	"sleep": `#!/bin/sh
exit 0
`,
}

// fakePi is a fake root with a boot partition folder and stubbed commands.
type fakePi struct {
	root, boot, log string
	env             []string
}

// newFakePi lays out a fake root for architecture arch with the given
// packages in the boot partition's tidewatch folder.
func newFakePi(t *testing.T, arch string, debs ...string) *fakePi {
	t.Helper()
	dir := t.TempDir()
	p := &fakePi{root: filepath.Join(dir, "root"), log: filepath.Join(dir, "calls.log")}
	p.boot = filepath.Join(p.root, "boot/firmware/tidewatch")
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{p.boot, bin, filepath.Join(p.root, "etc")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	for name, body := range stubs {
		require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755))
	}
	script, err := os.ReadFile(filepath.Join(packagingDir(t), "raspberrypi/tidewatch-firstboot.sh"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(p.boot, "tidewatch-firstboot.sh"), script, 0o755))
	for _, d := range debs {
		require.NoError(t, os.WriteFile(filepath.Join(p.boot, d), []byte("not really a package"), 0o644))
	}
	p.env = []string{
		"PATH=" + bin + ":" + os.Getenv("PATH"),
		"TIDEWATCH_FIRSTBOOT_ROOT=" + p.root,
		"TIDEWATCH_FIRSTBOOT_APT_TRIES=2",
		"TIDEWATCH_FIRSTBOOT_APT_WAIT=0",
		"STUB_LOG=" + p.log,
		"STUB_ARCH=" + arch,
		"STUB_OFFLINE=",
		"INVOCATION_ID=",
	}
	return p
}

// run runs the first-boot script with extra environment and arguments.
func (p *fakePi) run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runCmd(t, "/", append(append([]string{}, p.env...), env...), "bash",
		append([]string{filepath.Join(p.boot, "tidewatch-firstboot.sh")}, args...)...)
}

// calls returns the recorded stub calls and forgets them.
func (p *fakePi) calls(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(p.log)
	if os.IsNotExist(err) {
		return ""
	}
	require.NoError(t, err)
	require.NoError(t, os.Remove(p.log))
	return string(raw)
}

// countLines counts the lines of text equal to line.
func countLines(text, line string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			n++
		}
	}
	return n
}

// path returns a path inside the fake root.
func (p *fakePi) path(rel string) string { return filepath.Join(p.root, rel) }

// TestFirstBootInstalls runs the first boot on a fake arm64 Pi with both
// architectures' packages (two versions of one) on the boot partition.
func TestFirstBootInstalls(t *testing.T) {
	p := newFakePi(t, "arm64",
		"tidewatch-appliance_0.9.0-1_arm64.deb", "tidewatch-appliance_0.10.0-1_arm64.deb",
		"tidewatch-appliance_0.10.0-1_armhf.deb")
	require.NoError(t, os.WriteFile(filepath.Join(p.boot, "appliance.env"),
		[]byte("TIDEWATCH_MASTER=https://tw.example.com\nTIDEWATCH_SETUP_LISTEN=:8088\n"), 0o644))
	require.NoError(t, os.MkdirAll(p.path("run/systemd/system"), 0o755))

	r := p.run(t, nil)
	require.NoError(t, r.err, "%s", r)
	calls := p.calls(t)
	assert.Contains(t, calls, "apt-get update")
	assert.Contains(t, calls, "apt-get install -y -q -o Dpkg::Options::=--force-confold "+
		filepath.Join(p.boot, "tidewatch-appliance_0.10.0-1_arm64.deb")+"\n", "the newest package of this architecture")
	assert.NotContains(t, calls, "dpkg -i")
	assert.Contains(t, calls, "systemctl enable tidewatch-appliance.service")
	assert.Contains(t, calls, "systemctl restart tidewatch-appliance.service")
	assert.Contains(t, r.stdout, "setup page: http://192.168.1.50:8088/")
	assert.Contains(t, r.stdout, "setup page: http://tidewatch-pi.local:8088/")
	assert.Contains(t, calls, "logger -t tidewatch-firstboot -- setup page: http://192.168.1.50:8088/", "journal")

	env, err := os.ReadFile(p.path("etc/tidewatch/appliance.env"))
	require.NoError(t, err)
	assert.Contains(t, string(env), "TIDEWATCH_MASTER=https://tw.example.com")
	st, err := os.Stat(p.path("etc/tidewatch/appliance.env"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	issue, err := os.ReadFile(p.path("etc/issue.d/tidewatch.issue"))
	require.NoError(t, err)
	assert.Contains(t, string(issue), `http://\4:8088/`, "agetty fills in the address")
	assert.NotContains(t, string(issue), "setup_code")

	motd := p.path("etc/update-motd.d/60-tidewatch")
	st, err = os.Stat(motd)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	motdOut := mustRun(t, "/", p.env, "sh", motd)
	assert.Contains(t, motdOut, "setup page: http://192.168.1.50:8088/")
	assert.Contains(t, motdOut, "setup page: http://[fd00::50]:8088/")
	if sc, err := os.Stat("/usr/bin/shellcheck"); err == nil && !sc.IsDir() {
		r := runCmd(t, "", nil, "shellcheck", motd)
		assert.NoError(t, r.err, "%s", r)
	}

	journald, err := os.ReadFile(p.path("etc/systemd/journald.conf.d/60-tidewatch.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(journald), "SystemMaxUse=")

	assert.FileExists(t, p.path("var/lib/tidewatch-firstboot/done"))
	assert.NoFileExists(t, p.path("etc/systemd/system/tidewatch-firstboot.service"), "no retry needed")
	assert.NoFileExists(t, p.path("etc/systemd/system/multi-user.target.wants/tidewatch-firstboot.service"))

	// Once done, a second run does nothing.
	r = p.run(t, nil)
	require.NoError(t, r.err, "%s", r)
	assert.Contains(t, r.stdout, "already done")
	assert.NotContains(t, p.calls(t), "apt-get")
}

// TestFirstBootOffline checks that without a package archive the appliance
// is still installed (without Chromium) and the first boot is kept for the
// next boot, which completes it.
func TestFirstBootOffline(t *testing.T) {
	p := newFakePi(t, "armhf", "tidewatch-appliance_0.10.0-1_arm64.deb", "tidewatch-appliance_0.10.0-1_armhf.deb")

	r := p.run(t, []string{"STUB_OFFLINE=1"})
	require.NoError(t, r.err, "%s", r)
	calls := p.calls(t)
	assert.Equal(t, 2, countLines(calls, "apt-get update -q"), "retried")
	assert.Contains(t, calls, "dpkg --force-confold -i "+filepath.Join(p.boot, "tidewatch-appliance_0.10.0-1_armhf.deb"))
	assert.Contains(t, calls, "systemctl enable tidewatch-appliance.service")
	assert.NotContains(t, calls, "systemctl restart", "no running systemd in the fake root")
	assert.Contains(t, r.stdout, "trying again at the next boot")
	assert.NoFileExists(t, p.path("var/lib/tidewatch-firstboot/done"))

	unit, err := os.ReadFile(p.path("etc/systemd/system/tidewatch-firstboot.service"))
	require.NoError(t, err)
	assert.Contains(t, string(unit), "ExecStart=/bin/bash "+filepath.Join(p.boot, "tidewatch-firstboot.sh")+"\n")
	assert.Contains(t, string(unit), "After=network-online.target")
	link, err := os.Readlink(p.path("etc/systemd/system/multi-user.target.wants/tidewatch-firstboot.service"))
	require.NoError(t, err)
	assert.Equal(t, "../tidewatch-firstboot.service", link)

	// The next boot, online.
	r = p.run(t, nil)
	require.NoError(t, r.err, "%s", r)
	assert.Contains(t, p.calls(t), "apt-get install")
	assert.FileExists(t, p.path("var/lib/tidewatch-firstboot/done"))
	assert.NoFileExists(t, p.path("etc/systemd/system/tidewatch-firstboot.service"))
	assert.NoFileExists(t, p.path("etc/systemd/system/multi-user.target.wants/tidewatch-firstboot.service"))
}

// TestFirstBootFailures checks the errors a person can make.
func TestFirstBootFailures(t *testing.T) {
	t.Run("no package for this architecture", func(t *testing.T) {
		p := newFakePi(t, "armhf", "tidewatch-appliance_0.10.0-1_arm64.deb")
		r := p.run(t, nil)
		require.Error(t, r.err)
		assert.Contains(t, r.stdout, "no tidewatch-appliance_*_armhf.deb")
		assert.NotContains(t, p.calls(t), "apt-get")
		assert.NoFileExists(t, p.path("var/lib/tidewatch-firstboot/done"))
	})
	t.Run("unknown argument", func(t *testing.T) {
		p := newFakePi(t, "arm64")
		r := p.run(t, nil, "--bogus")
		require.Error(t, r.err)
		assert.Contains(t, r.stdout, "unknown argument")
	})
	t.Run("defer only registers", func(t *testing.T) {
		p := newFakePi(t, "arm64", "tidewatch-appliance_0.10.0-1_arm64.deb")
		r := p.run(t, nil, "--defer")
		require.NoError(t, r.err, "%s", r)
		calls := p.calls(t)
		assert.NotContains(t, calls, "apt-get")
		assert.NotContains(t, calls, "dpkg")
		assert.FileExists(t, p.path("etc/systemd/system/tidewatch-firstboot.service"))
		assert.NoFileExists(t, p.path("var/lib/tidewatch-firstboot/done"))
	})
	t.Run("help", func(t *testing.T) {
		p := newFakePi(t, "arm64")
		r := p.run(t, nil, "--help")
		require.NoError(t, r.err, "%s", r)
		assert.Contains(t, r.stdout, "Usage:")
		assert.NotContains(t, r.stdout, "set -euo")
	})
}

// imagerFirstrun is the end of a firstrun.sh as Raspberry Pi Imager writes
// it.
const imagerFirstrun = `#!/bin/bash

set +e

CURRENT_HOSTNAME=` + "`cat /etc/hostname | tr -d \" \\t\\n\\r\"`" + `
echo kitchen >/etc/hostname
rm -f /boot/firstrun.sh
sed -i 's| systemd.run.*||g' /boot/cmdline.txt
exit 0
`

// TestPrepareCard checks prepare-card.sh on fake boot partitions of both
// kinds, twice each.
func TestPrepareCard(t *testing.T) {
	script := filepath.Join(packagingDir(t), "raspberrypi/prepare-card.sh")
	debDir := t.TempDir()
	debs := []string{
		filepath.Join(debDir, "tidewatch-appliance_0.10.0-1_arm64.deb"),
		filepath.Join(debDir, "tidewatch-appliance_0.10.0-1_armhf.deb"),
	}
	for _, d := range debs {
		require.NoError(t, os.WriteFile(d, []byte("deb"), 0o644))
	}

	newBoot := func(t *testing.T, files map[string]string) string {
		boot := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(boot, "config.txt"), []byte("arm_64bit=1\n"), 0o644))
		for name, body := range files {
			require.NoError(t, os.WriteFile(filepath.Join(boot, name), []byte(body), 0o644))
		}
		return boot
	}
	prepare := func(t *testing.T, boot string, extra ...string) result {
		return runCmd(t, "", nil, "bash", append(append([]string{script, boot}, debs...), extra...)...)
	}
	runcmds := func(t *testing.T, boot string) []any {
		raw, err := os.ReadFile(filepath.Join(boot, "user-data"))
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &doc), "user-data stays valid YAML:\n%s", raw)
		list, ok := doc["runcmd"].([]any)
		require.True(t, ok, "runcmd is a list:\n%s", raw)
		return list
	}
	ours := []any{"bash", "/boot/firmware/tidewatch/tidewatch-firstboot.sh"}

	t.Run("imager firstrun.sh", func(t *testing.T) {
		boot := newBoot(t, map[string]string{"firstrun.sh": imagerFirstrun})
		for range 2 {
			r := prepare(t, boot)
			require.NoError(t, r.err, "%s", r)
		}
		for _, d := range debs {
			assert.FileExists(t, filepath.Join(boot, "tidewatch", filepath.Base(d)))
		}
		assert.FileExists(t, filepath.Join(boot, "tidewatch/tidewatch-firstboot.sh"))
		raw, err := os.ReadFile(filepath.Join(boot, "firstrun.sh"))
		require.NoError(t, err)
		text := string(raw)
		hook := `bash "$(dirname "$0")/tidewatch/tidewatch-firstboot.sh" --defer || true`
		assert.Equal(t, 1, strings.Count(text, hook), text)
		assert.Less(t, strings.Index(text, hook), strings.Index(text, "rm -f /boot/firstrun.sh"), "before firstrun.sh deletes itself")
		r := runCmd(t, "", nil, "bash", "-n", filepath.Join(boot, "firstrun.sh"))
		assert.NoError(t, r.err, "%s", r)
	})
	t.Run("cloud-init without runcmd", func(t *testing.T) {
		boot := newBoot(t, map[string]string{"user-data": "#cloud-config\nhostname: kitchen\n"})
		for range 2 {
			r := prepare(t, boot)
			require.NoError(t, r.err, "%s", r)
		}
		assert.Equal(t, []any{ours}, runcmds(t, boot))
	})
	t.Run("cloud-init with runcmd", func(t *testing.T) {
		boot := newBoot(t, map[string]string{"user-data": "#cloud-config\nruncmd:\n- [rfkill, unblock, wifi]\nhostname: kitchen\n"})
		r := prepare(t, boot)
		require.NoError(t, r.err, "%s", r)
		assert.Equal(t, []any{ours, []any{"rfkill", "unblock", "wifi"}}, runcmds(t, boot))
	})
	t.Run("settings file", func(t *testing.T) {
		boot := newBoot(t, map[string]string{"user-data": "#cloud-config\n"})
		env := filepath.Join(t.TempDir(), "appliance.env")
		require.NoError(t, os.WriteFile(env, []byte("TIDEWATCH_MASTER=https://tw.example.com\n"), 0o600))
		r := prepare(t, boot, "--env", env)
		require.NoError(t, r.err, "%s", r)
		assert.FileExists(t, filepath.Join(boot, "tidewatch/appliance.env"))

		require.NoError(t, os.WriteFile(env, []byte("TIDEWATCH_TOKEN=secret\n"), 0o600))
		r = prepare(t, boot, "--env", env)
		require.Error(t, r.err)
		assert.Contains(t, r.stderr, "TIDEWATCH_TOKEN")
	})
	t.Run("not a prepared card", func(t *testing.T) {
		r := prepare(t, newBoot(t, nil))
		require.Error(t, r.err)
		assert.Contains(t, r.stderr, "neither user-data")
		r = runCmd(t, "", nil, "bash", script, t.TempDir(), debs[0])
		require.Error(t, r.err)
		assert.Contains(t, r.stderr, "does not look like a Raspberry Pi boot partition")
	})
}

// TestUserDataExample checks that the documented cloud-init file is valid
// YAML with the cloud-config header and runs the first-boot script.
func TestUserDataExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(packagingDir(t), "raspberrypi/user-data.example"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), "#cloud-config\n"))
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	assert.Equal(t, []any{[]any{"bash", "/boot/firmware/tidewatch/tidewatch-firstboot.sh"}}, doc["runcmd"])
}
