package packaging

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDebVersion checks how git-describe versions become Debian versions
// that sort like the tags.
func TestDebVersion(t *testing.T) {
	tests := []struct {
		version, want string
	}{
		{"v1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3"},
		{"v1.2.3-4-gabcdef0", "1.2.3+git4.abcdef0"},
		{"v1.2.3-4-gabcdef0-dirty", "1.2.3+git4.abcdef0+dirty"},
		{"v2.0.0-rc1", "2.0.0~rc1"},
		{"v2.0.0-rc.1-3-g1234abc", "2.0.0~rc.1+git3.1234abc"},
		{"0eeae95", "0.0.0+git0eeae95"},
		{"0eeae95-dirty", "0.0.0+git0eeae95+dirty"},
		{"dev", "0.0.0+dev"},
		{"odd name/1", "0.0.0+odd.name.1"},
	}
	script := filepath.Join(packagingDir(t), "release.sh")
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			out := mustRun(t, "", []string{"VERSION=" + tc.version, "DEB_VERSION="}, "bash", script, "debversion")
			assert.Equal(t, tc.want, strings.TrimSpace(out))
		})
	}

	// dpkg must agree that they sort like the releases they stand for.
	if _, err := os.Stat("/usr/bin/dpkg"); err == nil {
		order := []string{"0.0.0+git0eeae95", "1.2.3~rc1", "1.2.3", "1.2.3+git4.abcdef0", "1.2.4"}
		for i := 1; i < len(order); i++ {
			r := runCmd(t, "", nil, "dpkg", "--compare-versions", order[i-1], "lt", order[i])
			assert.NoError(t, r.err, "%s < %s", order[i-1], order[i])
		}
	}
}

// fakeGo is a stand-in for the go command that records each build's
// environment and arguments and writes a dummy binary, so the release
// matrix is checked without compiling thirteen binaries.
const fakeGo = `#!/usr/bin/env bash
set -eu
out=""
prev=""
for a in "$@"; do
	[ "$prev" = "-o" ] && out=$a
	prev=$a
done
printf '%s|%s|%s|%s|%s\n' "${CGO_ENABLED:-}" "${GOOS:-}" "${GOARCH:-}" "${GOARM:-}" "$*" >>"$FAKE_GO_LOG"
printf 'binary %s/%s\n' "$GOOS" "$GOARCH" >"$out"
`

// TestReleaseMatrix runs "make release" with a fake go command and checks
// the targets, the build flags, the file names and SHA256SUMS.
func TestReleaseMatrix(t *testing.T) {
	needTool(t, "sha256sum", "coreutils")
	dir := t.TempDir()
	goStub := filepath.Join(dir, "go")
	require.NoError(t, os.WriteFile(goStub, []byte(fakeGo), 0o755))
	log := filepath.Join(dir, "go.log")
	dist := filepath.Join(dir, "dist")

	makeBin := needTool(t, "make", "make")
	r := runCmd(t, repoRoot(t), []string{"GO=" + goStub, "FAKE_GO_LOG=" + log}, makeBin, "-s", "-f", "release.mk",
		"DIST="+dist, "VERSION=v9.8.7", "COMMIT=abc1234", "DATE=2026-01-02T03:04:05Z", "release")
	require.NoError(t, r.err, "%s", r)

	want := []string{
		"tidewatch-linux-amd64", "tidewatch-linux-arm64", "tidewatch-linux-armv7",
		"tidewatch-darwin-arm64", "tidewatch-windows-amd64.exe",
		"tidewatch-master-linux-amd64", "tidewatch-master-linux-arm64", "tidewatch-master-linux-armv7",
		"tidewatch-master-darwin-arm64", "tidewatch-master-windows-amd64.exe",
		"tidewatch-appliance-linux-amd64", "tidewatch-appliance-linux-arm64", "tidewatch-appliance-linux-armv7",
	}
	entries, err := os.ReadDir(dist)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		if e.Name() != "SHA256SUMS" {
			got = append(got, e.Name())
		}
	}
	assert.ElementsMatch(t, want, got)

	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	require.NoError(t, err)
	var summed []string
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		fields := strings.Fields(line)
		require.Len(t, fields, 2, "SHA256SUMS line %q", line)
		assert.Len(t, fields[0], 64)
		summed = append(summed, fields[1])
	}
	assert.ElementsMatch(t, want, summed)
	mustRun(t, dist, nil, "sha256sum", "--check", "--quiet", "SHA256SUMS")

	raw, err := os.ReadFile(log)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	require.Len(t, lines, len(want))
	var targets []string
	for _, line := range lines {
		f := strings.SplitN(line, "|", 5)
		require.Len(t, f, 5)
		cgo, goos, goarch, goarm, args := f[0], f[1], f[2], f[3], f[4]
		assert.Equal(t, "0", cgo, "CGO_ENABLED of %s", args)
		if goarch == "arm" {
			assert.Equal(t, "7", goarm)
		} else {
			assert.Empty(t, goarm)
		}
		assert.Contains(t, args, "build -trimpath")
		assert.Contains(t, args, "-s -w -X main.version=v9.8.7 -X main.commit=abc1234 -X main.date=2026-01-02T03:04:05Z")
		pkg := args[strings.LastIndex(args, " ")+1:]
		targets = append(targets, goos+"/"+goarch+" "+strings.TrimPrefix(pkg, "./cmd/"))
	}
	sort.Strings(targets)
	assert.Equal(t, []string{
		"darwin/arm64 tidewatch", "darwin/arm64 tidewatch-master",
		"linux/amd64 tidewatch", "linux/amd64 tidewatch-appliance", "linux/amd64 tidewatch-master",
		"linux/arm tidewatch", "linux/arm tidewatch-appliance", "linux/arm tidewatch-master",
		"linux/arm64 tidewatch", "linux/arm64 tidewatch-appliance", "linux/arm64 tidewatch-master",
		"windows/amd64 tidewatch", "windows/amd64 tidewatch-master",
	}, targets)
}

// TestScriptsLint checks the syntax of every shell script of the packaging
// with the shell that runs it, then runs shellcheck over them.
func TestScriptsLint(t *testing.T) {
	dir := packagingDir(t)
	posix := []string{
		"scripts/appliance/postinst", "scripts/appliance/prerm", "scripts/appliance/postrm",
		"scripts/master/postinst", "scripts/master/prerm", "scripts/master/postrm",
	}
	bashScripts := []string{
		"release.sh", "ensure-tools.sh",
		"raspberrypi/tidewatch-firstboot.sh", "raspberrypi/prepare-card.sh",
	}
	for _, s := range posix {
		// Maintainer scripts run under /bin/sh, which is dash on Debian.
		shell := "sh"
		if _, err := os.Stat("/bin/dash"); err == nil {
			shell = "dash"
		}
		r := runCmd(t, dir, nil, shell, "-n", s)
		assert.NoError(t, r.err, "%s -n %s\n%s", shell, s, r)
		st, err := os.Stat(filepath.Join(dir, s))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o755), st.Mode().Perm(), s)
	}
	for _, s := range bashScripts {
		r := runCmd(t, dir, nil, "bash", "-n", s)
		assert.NoError(t, r.err, "bash -n %s\n%s", s, r)
	}

	shellcheck := needTool(t, "shellcheck", "shellcheck")
	all := append(append([]string{}, posix...), bashScripts...)
	r := runCmd(t, dir, nil, shellcheck, append([]string{"--severity=style"}, all...)...)
	assert.NoError(t, r.err, "shellcheck\n%s", r)
}
