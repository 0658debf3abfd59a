package packaging

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debEntry is one line of "dpkg-deb --contents".
type debEntry struct {
	mode, owner string
}

// debContents lists a package's files by path (without the leading ".").
func debContents(t *testing.T, deb string) map[string]debEntry {
	t.Helper()
	out := mustRun(t, "", nil, "dpkg-deb", "--contents", deb)
	entries := map[string]debEntry{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 6, "contents line %q", line)
		path := strings.TrimPrefix(f[5], ".")
		entries[strings.TrimSuffix(path, "/")] = debEntry{mode: f[0], owner: f[1]}
	}
	return entries
}

// TestDebPackages builds the amd64 packages through release.mk and checks
// their control fields, conffiles, maintainer scripts, files and modes.
func TestDebPackages(t *testing.T) {
	needTool(t, "dpkg-deb", "dpkg")
	buildDebs(t)

	type file struct {
		path, mode string
	}
	tests := []struct {
		pkg       string
		depends   string
		recommend string
		conffile  string
		files     []file
	}{
		{
			pkg:       "appliance",
			depends:   "adduser",
			recommend: "chromium | chromium-browser",
			conffile:  "/etc/tidewatch/appliance.env",
			files: []file{
				{"/usr/bin/tidewatch-appliance", "-rwxr-xr-x"},
				{"/lib/systemd/system/tidewatch-appliance.service", "-rw-r--r--"},
				{"/lib/systemd/system/tidewatch-appliance.service.d/environment.conf", "-rw-r--r--"},
				{"/etc/tidewatch/appliance.env", "-rw-------"},
				{"/usr/share/doc/tidewatch-appliance/copyright", "-rw-r--r--"},
				{"/usr/share/doc/tidewatch-appliance/changelog.Debian.gz", "-rw-r--r--"},
				{"/usr/share/lintian/overrides/tidewatch-appliance", "-rw-r--r--"},
			},
		},
		{
			pkg:      "master",
			depends:  "adduser",
			conffile: "/etc/tidewatch/master.env",
			files: []file{
				{"/usr/bin/tidewatch-master", "-rwxr-xr-x"},
				{"/lib/systemd/system/tidewatch-master.service", "-rw-r--r--"},
				{"/etc/tidewatch/master.env", "-rw-------"},
				{"/usr/share/doc/tidewatch-master/copyright", "-rw-r--r--"},
				{"/usr/share/doc/tidewatch-master/changelog.Debian.gz", "-rw-r--r--"},
				{"/usr/share/lintian/overrides/tidewatch-master", "-rw-r--r--"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.pkg, func(t *testing.T) {
			deb := debPath(tc.pkg, testDebVersion, "amd64")
			require.FileExists(t, deb)

			fields := map[string]string{}
			for _, name := range []string{"Package", "Version", "Architecture", "Depends", "Recommends", "Section", "Maintainer"} {
				fields[name] = strings.TrimSpace(mustRun(t, "", nil, "dpkg-deb", "--field", deb, name))
			}
			assert.Equal(t, "tidewatch-"+tc.pkg, fields["Package"])
			assert.Equal(t, testDebVersion+"-"+testRevision, fields["Version"])
			assert.Equal(t, "amd64", fields["Architecture"])
			assert.Equal(t, tc.depends, fields["Depends"])
			assert.Equal(t, tc.recommend, fields["Recommends"])
			assert.Equal(t, "net", fields["Section"])
			assert.NotEmpty(t, fields["Maintainer"])

			info := mustRun(t, "", nil, "dpkg-deb", "--info", deb)
			for _, s := range []string{"postinst", "prerm", "postrm", "conffiles", "md5sums"} {
				assert.Contains(t, info, " "+s, "control member %s", s)
			}

			ctrl := t.TempDir()
			mustRun(t, "", nil, "dpkg-deb", "--control", deb, ctrl)
			conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
			require.NoError(t, err)
			assert.Equal(t, tc.conffile+"\n", string(conffiles))
			for _, s := range []string{"postinst", "prerm", "postrm"} {
				want, err := os.ReadFile(filepath.Join(packagingDir(t), "scripts", tc.pkg, s))
				require.NoError(t, err)
				got, err := os.ReadFile(filepath.Join(ctrl, s))
				require.NoError(t, err)
				assert.Equal(t, string(want), string(got), "%s is the script of the tree", s)
			}

			contents := debContents(t, deb)
			for _, f := range tc.files {
				e, ok := contents[f.path]
				if assert.True(t, ok, "%s in the package", f.path) {
					assert.Equal(t, f.mode, e.mode, f.path)
				}
			}
			for path, e := range contents {
				if strings.HasPrefix(e.mode, "-") || strings.HasPrefix(e.mode, "d") {
					assert.Contains(t, []string{"root/root", "0/0"}, e.owner, "%s owner", path)
				}
				assert.False(t, strings.HasPrefix(path, "/var/lib"), "%s: data is made by postinst, not shipped", path)
			}
		})
	}
}

// TestApplianceUnitInPackage checks that the appliance package ships exactly
// the unit ossvc renders, and the master's unit its file in the tree.
func TestApplianceUnitInPackage(t *testing.T) {
	needTool(t, "dpkg-deb", "dpkg")
	buildDebs(t)

	want, err := RenderApplianceUnit()
	require.NoError(t, err)
	assert.Contains(t, want, "ExecStart=/usr/bin/tidewatch-appliance run --data /var/lib/tidewatch\n")
	assert.Contains(t, want, "User=tidewatch\n")

	root := t.TempDir()
	mustRun(t, "", nil, "dpkg-deb", "--extract", debPath("appliance", testDebVersion, "amd64"), root)
	got, err := os.ReadFile(filepath.Join(root, "lib/systemd/system", ApplianceUnitName))
	require.NoError(t, err)
	assert.Equal(t, want, string(got))

	mustRun(t, "", nil, "dpkg-deb", "--extract", debPath("master", testDebVersion, "amd64"), root)
	got, err = os.ReadFile(filepath.Join(root, "lib/systemd/system/tidewatch-master.service"))
	require.NoError(t, err)
	tree, err := os.ReadFile(filepath.Join(packagingDir(t), "systemd/tidewatch-master.service"))
	require.NoError(t, err)
	assert.Equal(t, string(tree), string(got))
	assert.Contains(t, string(got), "ExecStart=/usr/bin/tidewatch-master serve --data "+MasterDataDir+"\n")
}

// TestLintian runs lintian over the amd64 packages: no errors allowed (the
// overrides shipped in the packages say why each exception is one).
func TestLintian(t *testing.T) {
	t.Parallel()
	lintian := needTool(t, "lintian", "lintian")
	buildDebs(t)
	for _, pkg := range []string{"appliance", "master"} {
		t.Run(pkg, func(t *testing.T) {
			r := runCmd(t, "", nil, lintian, "--fail-on", "error", "--display-level", ">=warning",
				debPath(pkg, testDebVersion, "amd64"))
			assert.NoError(t, r.err, "lintian\n%s", r)
			for _, line := range strings.Split(r.stdout, "\n") {
				assert.False(t, strings.HasPrefix(line, "E:"), "lintian error: %s", line)
				if strings.HasPrefix(line, "W:") {
					t.Logf("lintian %s", line)
				}
			}
		})
	}
}

// TestDebReproducible builds the master package a second time into another
// directory: the same commit, VERSION and DATE must give the same bytes.
func TestDebReproducible(t *testing.T) {
	needTool(t, "dpkg-deb", "dpkg")
	buildDebs(t)
	dist := t.TempDir()
	r := runCmd(t, repoRoot(t), []string{"DIST=" + dist, "VERSION=" + testVersion, "COMMIT=test",
		"DATE=2026-01-02T03:04:05Z", "DEB_VERSION=", "DEB_REVISION="}, "bash", "packaging/release.sh", "deb", "master", "amd64")
	require.NoError(t, r.err, "%s", r)
	first, err := os.ReadFile(debPath("master", testDebVersion, "amd64"))
	require.NoError(t, err)
	second, err := os.ReadFile(strings.TrimSpace(r.stdout))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(first, second), "two builds of one commit differ")
}
