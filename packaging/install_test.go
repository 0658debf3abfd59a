package packaging

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dpkgEnv keeps dpkg from asking questions.
var dpkgEnv = []string{"DEBIAN_FRONTEND=noninteractive"}

// pkgStatus returns dpkg's status of a package ("install ok installed"),
// or "" when dpkg does not know it.
func pkgStatus(t *testing.T, pkg string) string {
	t.Helper()
	r := runCmd(t, "", nil, "dpkg-query", "--show", "--showformat=${Status}", pkg)
	if r.err != nil {
		return ""
	}
	return strings.TrimSpace(r.stdout)
}

// assertOwned checks a path's owner, group and permission bits.
func assertOwned(t *testing.T, path, owner string, perm os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if !assert.NoError(t, err) {
		return
	}
	assert.Equal(t, perm, st.Mode().Perm(), "mode of %s", path)
	sys, ok := st.Sys().(*syscall.Stat_t)
	require.True(t, ok)
	u, err := user.LookupId(strconv.Itoa(int(sys.Uid)))
	if assert.NoError(t, err) {
		assert.Equal(t, owner, u.Username, "owner of %s", path)
	}
	g, err := user.LookupGroupId(strconv.Itoa(int(sys.Gid)))
	if assert.NoError(t, err) {
		assert.Equal(t, owner, g.Name, "group of %s", path)
	}
}

// asAccount runs a command as the packages' system user.
func asAccount(t *testing.T, name string, args ...string) result {
	t.Helper()
	return runCmd(t, "/", nil, "runuser", append([]string{"-u", Account, "--", name}, args...)...)
}

// Paths the packages install or create.
const (
	wantsDir       = "/etc/systemd/system/multi-user.target.wants"
	applianceEnv   = "/etc/tidewatch/appliance.env"
	masterEnv      = "/etc/tidewatch/master.env"
	masterUnitName = "tidewatch-master.service"
)

// TestInstallUpgradeRemovePurge installs the amd64 packages on this machine
// with dpkg (no systemd needs to run), reruns their maintainer scripts,
// upgrades them, removes and purges them, checking files, ownership, modes
// and that data and configuration survive exactly as long as they should.
func TestInstallUpgradeRemovePurge(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installing packages with dpkg needs root")
	}
	needTool(t, "dpkg", "dpkg")
	needTool(t, "adduser", "adduser")
	needTool(t, "runuser", "util-linux")
	for _, pkg := range []string{"tidewatch-appliance", "tidewatch-master"} {
		if st := pkgStatus(t, pkg); st != "" && !strings.HasSuffix(st, "not-installed") {
			t.Skipf("%s is already on this machine (%s); not touching a real install", pkg, st)
		}
	}
	buildDebs2(t)
	t.Cleanup(func() {
		runCmd(t, "", dpkgEnv, "dpkg", "--purge", "tidewatch-appliance", "tidewatch-master")
	})

	applianceV1 := debPath("appliance", testDebVersion, "amd64")
	masterV1 := debPath("master", testDebVersion, "amd64")

	// Install.
	out := mustRun(t, "", dpkgEnv, "dpkg", "--install", masterV1, applianceV1)
	assert.Contains(t, out, "Open its setup page at http://")
	assert.Contains(t, out, "Create the first admin with:")
	assert.Equal(t, "install ok installed", pkgStatus(t, "tidewatch-appliance"))
	assert.Equal(t, "install ok installed", pkgStatus(t, "tidewatch-master"))

	checkInstalled := func(t *testing.T) {
		t.Helper()
		u, err := user.Lookup(Account)
		require.NoError(t, err, "postinst creates the %s user", Account)
		uid, err := strconv.Atoi(u.Uid)
		require.NoError(t, err)
		assert.Less(t, uid, 1000, "a system user")
		assert.Equal(t, StateDir, u.HomeDir)
		passwd := mustRun(t, "", nil, "getent", "passwd", Account)
		assert.True(t, strings.HasSuffix(strings.TrimSpace(passwd), ":/usr/sbin/nologin"), passwd)

		assertOwned(t, StateDir, Account, 0o750)
		assertOwned(t, MasterDataDir, Account, 0o750)
		assertOwned(t, "/usr/bin/tidewatch-appliance", "root", 0o755)
		assertOwned(t, "/usr/bin/tidewatch-master", "root", 0o755)
		assertOwned(t, applianceEnv, "root", 0o600)
		assertOwned(t, masterEnv, "root", 0o600)
		assertOwned(t, "/lib/systemd/system/"+ApplianceUnitName, "root", 0o644)
		assertOwned(t, "/lib/systemd/system/"+masterUnitName, "root", 0o644)

		for _, unit := range []string{ApplianceUnitName, masterUnitName} {
			link, err := os.Readlink(filepath.Join(wantsDir, unit))
			if assert.NoError(t, err, "%s is enabled", unit) {
				assert.Equal(t, "/lib/systemd/system/"+unit, link)
			}
		}
		unit, err := os.ReadFile("/lib/systemd/system/" + ApplianceUnitName)
		require.NoError(t, err)
		want, err := RenderApplianceUnit()
		require.NoError(t, err)
		assert.Equal(t, want, string(unit))
	}
	t.Run("installed", checkInstalled)

	t.Run("units verify", func(t *testing.T) {
		analyze, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze is not installed (Debian package systemd)")
		}
		r := runCmd(t, "", nil, analyze, "verify", "/lib/systemd/system/"+ApplianceUnitName, "/lib/systemd/system/"+masterUnitName)
		assert.NoError(t, r.err, "%s", r)
		assert.Empty(t, strings.TrimSpace(r.stderr+r.stdout))
	})

	t.Run("binaries run", func(t *testing.T) {
		out := mustRun(t, "", nil, "/usr/bin/tidewatch-appliance", "--version")
		assert.Contains(t, out, testVersion)
		out = mustRun(t, "", nil, "/usr/bin/tidewatch-master", "version")
		assert.Contains(t, out, testVersion)
	})

	// The service user owns the data: create real master data as that user
	// (an enrollment token), and appliance-side state and settings.
	r := asAccount(t, "/usr/bin/tidewatch-master", "token", "create", "--data", MasterDataDir, "--name", "pi-kitchen")
	require.NoError(t, r.err, "%s", r)
	applianceState := filepath.Join(StateDir, "appliance.json")
	r = asAccount(t, "sh", "-c", "echo '{\"worker_name\":\"kitchen\"}' > "+applianceState)
	require.NoError(t, r.err, "%s", r)
	const localSetting = "TIDEWATCH_WORKER_NAME=kitchen\n"
	f, err := os.OpenFile(applianceEnv, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(localSetting)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	t.Run("maintainer scripts twice", func(t *testing.T) {
		for _, pkg := range []string{"tidewatch-appliance", "tidewatch-master"} {
			info := "/var/lib/dpkg/info/" + pkg
			for range 2 {
				mustRun(t, "", dpkgEnv, info+".postinst", "configure", "")
				mustRun(t, "", dpkgEnv, info+".postinst", "configure", testDebVersion+"-"+testRevision)
				mustRun(t, "", dpkgEnv, info+".prerm", "upgrade", testDebVersion2+"-"+testRevision)
			}
		}
		checkInstalled(t)
		_, err := os.Stat(applianceState)
		assert.NoError(t, err, "postinst leaves data alone")
	})

	// Upgrade.
	mustRun(t, "", dpkgEnv, "dpkg", "--install",
		debPath("master", testDebVersion2, "amd64"), debPath("appliance", testDebVersion2, "amd64"))
	t.Run("upgraded", func(t *testing.T) {
		for _, pkg := range []string{"tidewatch-appliance", "tidewatch-master"} {
			v := mustRun(t, "", nil, "dpkg-query", "--show", "--showformat=${Version}", pkg)
			assert.Equal(t, testDebVersion2+"-"+testRevision, v)
		}
		checkInstalled(t)
		r := asAccount(t, "/usr/bin/tidewatch-master", "token", "list", "--data", MasterDataDir)
		require.NoError(t, r.err, "%s", r)
		assert.Contains(t, r.stdout, "pi-kitchen", "master data kept")
		assert.FileExists(t, applianceState, "appliance data kept")
		env, err := os.ReadFile(applianceEnv)
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(string(env), localSetting), "changed conffile kept")
		assert.NoFileExists(t, applianceEnv+".dpkg-dist")
		assert.NoFileExists(t, applianceEnv+".dpkg-new")
	})

	// Remove the appliance: its configuration and data stay.
	mustRun(t, "", dpkgEnv, "dpkg", "--remove", "tidewatch-appliance")
	t.Run("removed", func(t *testing.T) {
		assert.Equal(t, "deinstall ok config-files", pkgStatus(t, "tidewatch-appliance"))
		assert.NoFileExists(t, "/usr/bin/tidewatch-appliance")
		assert.NoFileExists(t, "/lib/systemd/system/"+ApplianceUnitName)
		assert.FileExists(t, applianceEnv)
		assert.FileExists(t, applianceState)
		assert.FileExists(t, filepath.Join(MasterDataDir, "tidewatch.db"))
	})

	// Purge the appliance: its data goes, the master's stays.
	postrm := filepath.Join(t.TempDir(), "postrm")
	ctrl := t.TempDir()
	mustRun(t, "", nil, "dpkg-deb", "--control", applianceV1, ctrl)
	require.NoError(t, os.Rename(filepath.Join(ctrl, "postrm"), postrm))
	mustRun(t, "", dpkgEnv, "dpkg", "--purge", "tidewatch-appliance")
	t.Run("appliance purged", func(t *testing.T) {
		assert.Empty(t, pkgStatus(t, "tidewatch-appliance"))
		assert.NoFileExists(t, applianceEnv)
		assert.NoFileExists(t, applianceState)
		assert.NoFileExists(t, filepath.Join(wantsDir, ApplianceUnitName))
		_, err := os.Lstat("/etc/systemd/system/" + ApplianceUnitName)
		assert.True(t, os.IsNotExist(err), "no mask left behind")
		assertOwned(t, MasterDataDir, Account, 0o750)
		assert.FileExists(t, filepath.Join(MasterDataDir, "tidewatch.db"))
		assert.FileExists(t, masterEnv)
		// postrm purge once more, as an interrupted purge would.
		mustRun(t, "", dpkgEnv, postrm, "purge")
		assert.FileExists(t, filepath.Join(MasterDataDir, "tidewatch.db"))
	})

	// Purge the master: nothing of Tidewatch is left but the system user.
	mustRun(t, "", dpkgEnv, "dpkg", "--purge", "tidewatch-master")
	t.Run("all purged", func(t *testing.T) {
		assert.Empty(t, pkgStatus(t, "tidewatch-master"))
		assert.NoDirExists(t, StateDir)
		assert.NoDirExists(t, "/etc/tidewatch")
		assert.NoFileExists(t, "/usr/bin/tidewatch-master")
		assert.NoFileExists(t, filepath.Join(wantsDir, masterUnitName))
		mustRun(t, "", dpkgEnv, postrm, "purge")
		mustRun(t, "", dpkgEnv, postrm, "remove")
	})

	// A reinstall after a purge finds the user there and works again.
	mustRun(t, "", dpkgEnv, "dpkg", "--install", applianceV1)
	t.Run("reinstalled", func(t *testing.T) {
		assertOwned(t, StateDir, Account, 0o750)
		assertOwned(t, applianceEnv, "root", 0o600)
		_, err := os.Readlink(filepath.Join(wantsDir, ApplianceUnitName))
		assert.NoError(t, err)
	})
}
