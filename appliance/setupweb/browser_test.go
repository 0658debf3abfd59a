package setupweb

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/internal/testbrowser"
)

// newBrowser starts a headless Chromium with its own profile and returns a
// tab context that ends with the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	allocCtx := testbrowser.Allocator(t, chromedp.NoDefaultBrowserCheck, chromedp.WindowSize(1280, 900))
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	ctx, cancel := context.WithTimeout(tabCtx, 90*time.Second)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx), "starting chromium")
	return ctx
}

// saveShot writes a PNG screenshot of the whole page to dir/name.
func saveShot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, png, 0o600))
	t.Logf("screenshot: %s", path)
}

// textOf returns an element's text.
func textOf(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	require.NoError(t, err)
	return strings.TrimSpace(s)
}

// location returns the tab's URL path.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	require.NoError(t, err)
	return loc
}

// clearInput empties a text field the user typed into. chromedp's Clear
// only resets the value attribute, which no longer shows once the field was
// edited, and SetValue refuses the empty string.
func clearInput(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.getElementById(` + strconv.Quote(id) + `).value = '', undefined`)
}

// waitOutcome clicks "test connection" and waits for the answer.
func waitOutcome(t *testing.T, ctx context.Context) (outcome, message string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('test-result').dataset.outcome = ''`),
		chromedp.Click(chromedp.ID("test-connection")),
	))
	outcome, err := chromedp.Run(ctx, chromedp.Poll[string](
		`document.getElementById('test-result').dataset.outcome || null`,
		chromedp.WithPollingTimeout(15*time.Second)))
	require.NoError(t, err)
	return outcome, textOf(t, ctx, "test-result")
}

func TestBrowserWizardLoginAndLiveStatus(t *testing.T) {
	ctx := newBrowser(t)
	e := startEnv(t, envOpts{refresh: 200 * time.Millisecond})
	// Screenshots outlive the test on purpose, so a person can look at them.
	shots, err := os.MkdirTemp("", "tidewatch-setupweb-shots-")
	require.NoError(t, err)

	// Step 1: the setup code.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/"),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	assert.Equal(t, pathSetup, location(t, ctx))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("code"), "zzzz9999"),
		chromedp.Click(chromedp.ID("code-submit")),
		chromedp.WaitVisible(chromedp.CSS(`[data-error-for="code"]`)),
	))
	assert.Contains(t, textOf(t, ctx, "setup-code-card"), "That code is not right")
	saveShot(t, ctx, shots, "wizard-step1-wrong-code.png")

	require.NoError(t, chromedp.Do(ctx,
		clearInput("code"),
		chromedp.SendKeys(chromedp.ID("code"), "abcd2345"),
		chromedp.Click(chromedp.ID("code-submit")),
		chromedp.WaitVisible(chromedp.ID("setup-form")),
	))

	// Step 2: fill the form, test a wrong and a right token.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.SendKeys(chromedp.ID("password_confirm"), testPassword),
		chromedp.SendKeys(chromedp.ID("master_url"), "https://master.example:8443"),
		chromedp.SendKeys(chromedp.ID("token"), badToken),
		chromedp.SendKeys(chromedp.ID("worker_name"), "Garage Pi"),
		chromedp.SetValue(chromedp.ID("max_accounts"), "6"),
	))
	outcome, msg := waitOutcome(t, ctx)
	assert.Equal(t, "bad_token", outcome)
	assert.Contains(t, msg, "refused the enrollment token")

	require.NoError(t, chromedp.Do(ctx,
		clearInput("token"),
		chromedp.SendKeys(chromedp.ID("token"), testToken),
	))
	outcome, msg = waitOutcome(t, ctx)
	assert.Equal(t, "ok", outcome)
	assert.Contains(t, msg, "accepted the token")
	saveShot(t, ctx, shots, "wizard-step2.png")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("finish")),
		chromedp.WaitVisible(chromedp.ID("status")),
	))
	assert.Equal(t, pathStatus, location(t, ctx))
	assert.Contains(t, textOf(t, ctx, "flash"), "Setup is complete")
	applied := e.applier.applied()
	require.Len(t, applied, 1)
	assert.Equal(t, "Garage Pi", applied[0].WorkerName)
	assert.Equal(t, 6, applied[0].MaxAccounts)
	assert.Equal(t, testToken, applied[0].Token)

	// Log out, fail once, log in.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("login-card")),
	))
	assert.Equal(t, pathLogin, location(t, ctx))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), "not the password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`[data-error-for="password"]`)),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("status")),
	))
	assert.Equal(t, pathStatus, location(t, ctx))

	// The status page: accounts and figures from the DOM.
	accounts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#accounts tbody tr')].map(r => r.dataset.account)`))
	require.NoError(t, err)
	assert.Equal(t, []string{"acc-1001", "acc-1002"}, accounts)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](
		`[...document.querySelectorAll('#accounts tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()))`))
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, []string{"acc-1001", "douyin", "running", "11:59:48 (12 s ago)", "2 new comments", ""}, rows[0])
	assert.Equal(t, "cookie expired", rows[1][5])
	assert.Equal(t, "12.5 %", textOf(t, ctx, "m-cpu"))
	assert.Equal(t, "431 MB", textOf(t, ctx, "m-memory"))
	assert.Equal(t, "48.2 °C", textOf(t, ctx, "m-temp"))
	assert.Equal(t, "3", textOf(t, ctx, "m-outbox"))
	assert.Equal(t, "Connected", textOf(t, ctx, "connection"))

	// The figures refresh without a reload.
	e.status.set(func(st *Status) {
		st.System.CPUPercent = 77.5
		hot := 61.0
		st.System.TemperatureC = &hot
		st.OutboxDepth = 0
		st.Accounts = append(st.Accounts, AccountStatus{AccountID: "acc-1003", Platform: "douyin", State: "starting"})
		st.LogLines = append(st.LogLines, "2025-06-01 12:00:00 INFO account assigned account_id=acc-1003")
	})
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](
		`document.getElementById('m-cpu').textContent === '77.5 %' && document.querySelectorAll('#accounts tbody tr').length === 3`,
		chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	require.NoError(t, err, "live figures must update")
	assert.Equal(t, "61.0 °C", textOf(t, ctx, "m-temp"))
	assert.Equal(t, "0", textOf(t, ctx, "m-outbox"))
	assert.Equal(t, "3", textOf(t, ctx, "account-count"))
	assert.Contains(t, textOf(t, ctx, "log"), "account assigned account_id=acc-1003")
	saveShot(t, ctx, shots, "status.png")

	// Settings: the stored token is never put back into the page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/settings"]`)),
		chromedp.WaitVisible(chromedp.ID("settings-form")),
	))
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	assert.NotContains(t, html, testToken)
	placeholder, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("token"), "placeholder"))
	require.NoError(t, err)
	assert.Contains(t, placeholder.Value, "••• set")
	master, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("master_url")))
	require.NoError(t, err)
	assert.Equal(t, "https://master.example:8443", master)
	saveShot(t, ctx, shots, "settings.png")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/status"]`)),
		chromedp.WaitVisible(chromedp.ID("status")),
	))

	// The same page on a phone-sized screen.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)))
	saveShot(t, ctx, shots, "status-phone.png")
}
