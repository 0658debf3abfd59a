package packaging

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQemuSmoke runs "make release-smoke" (the arm64 and armv7 appliance
// under qemu user emulation), then checks the selftest report of each
// binary in detail: it must describe the emulated architecture and carry
// real memory figures.
func TestQemuSmoke(t *testing.T) {
	t.Parallel()
	needTool(t, "qemu-aarch64-static", "qemu-user-static")
	needTool(t, "qemu-arm-static", "qemu-user-static")

	out := makeRelease(t, nil, "release-smoke")
	assert.Contains(t, out, "smoke ok: tidewatch-appliance-linux-arm64")
	assert.Contains(t, out, "smoke ok: tidewatch-appliance-linux-armv7")

	tests := []struct {
		binary, qemu, goarch string
	}{
		{"tidewatch-appliance-linux-arm64", "qemu-aarch64-static", "arm64"},
		{"tidewatch-appliance-linux-armv7", "qemu-arm-static", "arm"},
	}
	for _, tc := range tests {
		t.Run(tc.goarch, func(t *testing.T) {
			bin := filepath.Join(shared.dist, tc.binary)
			require.FileExists(t, bin)

			version := mustRun(t, "", nil, tc.qemu, bin, "--version")
			assert.Equal(t, "tidewatch-appliance "+testVersion+" (commit test, built 2026-01-02T03:04:05Z)", strings.TrimSpace(version))

			raw := mustRun(t, "", nil, tc.qemu, bin, "selftest", "--data", t.TempDir())
			var report struct {
				Version   string `json:"version"`
				GOOS      string `json:"goos"`
				GOARCH    string `json:"goarch"`
				Heartbeat map[string]any
			}
			require.NoError(t, json.Unmarshal([]byte(raw), &report), raw)
			assert.Equal(t, testVersion, report.Version)
			assert.Equal(t, "linux", report.GOOS)
			assert.Equal(t, tc.goarch, report.GOARCH)
			assert.NotEmpty(t, report.Heartbeat, raw)
		})
	}
}
