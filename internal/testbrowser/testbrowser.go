// Package testbrowser starts headless Chromium for browser tests through
// chromedp, each with a profile of its own, and skips the test on machines
// without a browser so the rest of the suite still runs there.
package testbrowser

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// DefaultBrowser is the first place looked for a browser.
const DefaultBrowser = "/usr/bin/chromium"

// fallbacks are the names looked up on PATH when DefaultBrowser is absent.
var fallbacks = []string{"chromium", "chromium-browser", "google-chrome"}

// Find returns a Chromium binary, or "" when there is none.
func Find() string {
	if _, err := os.Stat(DefaultBrowser); err == nil {
		return DefaultBrowser
	}
	for _, name := range fallbacks {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Options returns the allocator options of a headless Chromium for tests:
// no sandbox, GPU, first-run screens or background traffic, and a profile
// in a temporary directory of tb; extra come after them. It skips tb when
// there is no browser.
func Options(tb testing.TB, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	tb.Helper()
	bin := Find()
	if bin == "" {
		tb.Skip("no chromium binary")
	}
	return append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
	}, extra...)
}

// Allocator returns an allocator context for Options(tb, extra...); the
// browser it starts ends in tb's cleanup, after every context derived from
// it whose cleanup was registered later.
func Allocator(tb testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	tb.Helper()
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), Options(tb, extra...)...)
	tb.Cleanup(cancel)
	return ctx
}
