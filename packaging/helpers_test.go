package packaging

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Versions the tests stamp into the binaries and packages; the upgrade test
// installs the second over the first.
const (
	testVersion     = "v0.1.0"
	testDebVersion  = "0.1.0"
	testDebVersion2 = "0.2.0"
	testRevision    = "1"
)

// commandTimeout bounds one external command; cross builds on a cold cache
// are the slow ones.
const commandTimeout = 8 * time.Minute

// shared is what the tests of this package build once per run: the dist
// directory with the binaries and packages. TestMain creates and removes it.
var shared struct {
	dist string

	debsOnce  sync.Once
	debsErr   error
	debs2Once sync.Once
	debs2Err  error
}

// TestMain makes the shared dist directory and removes it afterwards.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tidewatch-packaging-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.dist = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot returns the repository's root (this package's parent).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Dir(filepath.Dir(file))
}

// packagingDir returns this package's directory.
func packagingDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "packaging")
}

// result is the outcome of one command.
type result struct {
	stdout, stderr string
	err            error
}

// String shows everything the command printed, for failure messages.
func (r result) String() string {
	return fmt.Sprintf("err: %v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
}

// runCmd runs name with args in dir with extra environment variables and
// returns its output; it never fails the test itself.
func runCmd(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// mustRun runs a command and fails the test when it fails.
func mustRun(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	r := runCmd(t, dir, env, name, args...)
	require.NoError(t, r.err, "%s %s\n%s", name, strings.Join(args, " "), r)
	return r.stdout
}

// toolInstalls serialises apt-get runs of parallel tests.
var toolInstalls sync.Mutex

// needTool returns the path of tool, installing Debian package pkg when the
// tool is missing and the test runs as root. It skips the test only when
// the tool cannot be had.
func needTool(t *testing.T, tool, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(tool); err == nil {
		return p
	}
	toolInstalls.Lock()
	defer toolInstalls.Unlock()
	if p, err := exec.LookPath(tool); err == nil {
		return p
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s is missing and installing Debian package %s needs root", tool, pkg)
	}
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	if r := runCmd(t, "", env, "apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg); r.err != nil {
		// The package lists may be missing or stale: update once, retry.
		runCmd(t, "", env, "apt-get", "update", "-qq")
		if r = runCmd(t, "", env, "apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg); r.err != nil {
			t.Skipf("%s is missing and apt-get could not install %s:\n%s", tool, pkg, r)
		}
	}
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s still missing after installing %s", tool, pkg)
	}
	return p
}

// makeRelease runs a target of release.mk against the shared dist
// directory, the way the Makefile's include does.
func makeRelease(t *testing.T, vars []string, targets ...string) string {
	t.Helper()
	out, err := runMake(t, vars, targets...)
	require.NoError(t, err)
	return out
}

// debPath returns the path of a built package.
func debPath(pkg, version, arch string) string {
	return filepath.Join(shared.dist, fmt.Sprintf("tidewatch-%s_%s-%s_%s.deb", pkg, version, testRevision, arch))
}

// buildDebs builds the amd64 packages at testDebVersion once per run.
func buildDebs(t *testing.T) {
	t.Helper()
	shared.debsOnce.Do(func() {
		_, shared.debsErr = runMake(t, nil, "deb-amd64")
	})
	require.NoError(t, shared.debsErr)
}

// buildDebs2 builds the amd64 packages at testDebVersion2 once per run: the
// same binaries, packaged as the next version for the upgrade test.
func buildDebs2(t *testing.T) {
	t.Helper()
	buildDebs(t)
	shared.debs2Once.Do(func() {
		_, shared.debs2Err = runMake(t, []string{"DEB_VERSION=" + testDebVersion2}, "deb-amd64")
	})
	require.NoError(t, shared.debs2Err)
}

// runMake is makeRelease returning the error instead of failing, for the
// sync.Once builders (a failure must fail every test that needs them).
func runMake(t *testing.T, vars []string, targets ...string) (string, error) {
	t.Helper()
	makeBin := needTool(t, "make", "make")
	args := append([]string{"-s", "-f", "release.mk", "DIST=" + shared.dist, "VERSION=" + testVersion,
		"COMMIT=test", "DATE=2026-01-02T03:04:05Z"}, vars...)
	args = append(args, targets...)
	r := runCmd(t, repoRoot(t), nil, makeBin, args...)
	if r.err != nil {
		return "", fmt.Errorf("make %s: %w\n%s", strings.Join(args, " "), r.err, r)
	}
	return r.stdout, nil
}
