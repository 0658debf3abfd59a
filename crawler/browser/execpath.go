package browser

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNoBrowser is returned when no Chromium binary can be found.
var ErrNoBrowser = errors.New("no chromium binary found")

// execCandidates are the names looked up on PATH when Config.ExecPath is
// empty, in order.
func execCandidates() []string {
	return []string{"chromium", "chromium-browser", "google-chrome"}
}

// realBinaries maps a distribution's wrapper script name to the binaries
// its package ships beside its libraries. Debian's /usr/bin/chromium is a
// shell script that adds flags (GPU rasterisation, extensions) we do not
// want; the binary it runs takes our flags as they are.
func realBinaries(name string) []string {
	switch name {
	case "chromium":
		return []string{"/usr/lib/chromium/chromium"}
	case "chromium-browser":
		return []string{"/usr/lib/chromium-browser/chromium-browser", "/usr/lib/chromium/chromium"}
	case "google-chrome":
		return []string{"/opt/google/chrome/chrome"}
	}
	return nil
}

// FindExecPath returns configured when it is not empty, else the first
// Chromium found on PATH, preferring the real binary behind a shell
// wrapper.
func FindExecPath(configured string) (string, error) {
	if configured != "" {
		if _, err := os.Stat(configured); err != nil {
			return "", fmt.Errorf("browser binary %q: %w", configured, err)
		}
		return configured, nil
	}
	for _, name := range execCandidates() {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if isScript(p) {
			for _, real := range realBinaries(filepath.Base(p)) {
				if isExecutable(real) && !isScript(real) {
					return real, nil
				}
			}
		}
		return p, nil
	}
	return "", ErrNoBrowser
}

// isScript reports whether the file at p starts with "#!".
func isScript(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 2)
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	return bytes.Equal(head, []byte("#!"))
}

// isExecutable reports whether p is a regular file with an execute bit.
func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
