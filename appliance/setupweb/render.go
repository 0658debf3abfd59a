package setupweb

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// assetsFS holds the page's templates and static files.
//
//go:embed assets
var assetsFS embed.FS

// pageNames are the page templates; each is parsed with the layout.
var pageNames = []string{"setup_code", "setup_form", "login", "status", "settings", "error"}

// parsePages parses every page with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New("layout.html").ParseFS(assetsFS,
			"assets/templates/layout.html", "assets/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// pageData is what every template receives; pages use the fields they need.
type pageData struct {
	// Title is the page title.
	Title string
	// Nav marks the current menu entry ("status", "settings").
	Nav string
	// LoggedIn shows the menu and the logout button.
	LoggedIn bool
	// CSRF is the token the page's forms and scripts send back.
	CSRF string
	// Flash is a one-time success message.
	Flash string
	// Error is a message about the whole form.
	Error string
	// Errors maps a form field to its problem.
	Errors map[string]string
	// Form holds the values to show again in a form.
	Form map[string]string
	// TokenSet tells the settings page that a token is stored.
	TokenSet bool
	// WorkerID is the appliance's id.
	WorkerID string
	// Status is the status page's snapshot.
	Status *statusView
	// RefreshMS is the status page's polling interval in milliseconds.
	RefreshMS int64
	// Link and LinkText offer a way on from an error page.
	Link, LinkText string
	// Version is shown in the footer.
	Version string
	// MinPasswordLen is shown in hints.
	MinPasswordLen int
	// MaxAccountsLimit is shown in hints and the input's max.
	MaxAccountsLimit int
}

// render writes page name with status.
func (s *Server) render(c echo.Context, status int, name string, data *pageData) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("no page %q", name)
	}
	data.Version = s.conf.Version
	data.MinPasswordLen = MinPasswordLen
	data.MaxAccountsLimit = maxAccountsLimit
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return fmt.Errorf("rendering %s: %w", name, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// pageError is an error with the page (or JSON) to answer with. Handlers
// return it; handleError is the one place that writes it.
type pageError struct {
	status   int
	title    string
	message  string
	link     string
	linkText string
	// retryAfter, when set, becomes a Retry-After header.
	retryAfter time.Duration
}

// Error implements error.
func (e *pageError) Error() string {
	return strconv.Itoa(e.status) + " " + e.message
}

// handleError is echo's error handler: it answers every error, as JSON for
// scripts and as a page for browsers, and logs unexpected ones.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	pe := &pageError{
		status:   http.StatusInternalServerError,
		title:    "Something went wrong",
		message:  "The appliance could not complete this request. Details are in its log.",
		link:     pathRoot,
		linkText: "Back",
	}
	var he *echo.HTTPError
	switch {
	case errors.As(err, &pe):
	case errors.As(err, &he):
		pe.status = he.Code
		pe.title = http.StatusText(he.Code)
		pe.message = describeHTTPError(he)
	default:
		s.log.ErrorContext(c.Request().Context(), "request failed", "method", c.Request().Method,
			"path", c.Request().URL.Path, "err", err)
	}
	if pe.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(pe.retryAfter/time.Second)))
	}

	var werr error
	switch {
	case c.Request().Method == http.MethodHead:
		werr = c.NoContent(pe.status)
	case wantsJSON(c):
		werr = c.JSON(pe.status, map[string]any{"ok": false, "message": pe.message})
	default:
		data := &pageData{Title: pe.title, Error: pe.message, Link: pe.link, LinkText: pe.linkText}
		if sess := s.sessionFrom(c); sess != nil && sess.kind == kindLogin {
			data.LoggedIn = true
			data.CSRF = sess.csrf
		}
		werr = s.render(c, pe.status, "error", data)
	}
	if werr != nil {
		s.log.DebugContext(c.Request().Context(), "writing error answer", "err", werr)
	}
}

// describeHTTPError words echo's own errors (404, 405, 413) for people.
func describeHTTPError(he *echo.HTTPError) string {
	switch he.Code {
	case http.StatusNotFound:
		return "There is no such page on this appliance."
	case http.StatusMethodNotAllowed:
		return "This address does not accept that kind of request."
	case http.StatusRequestEntityTooLarge:
		return "The form is too large."
	default:
		return http.StatusText(he.Code)
	}
}

// fieldErrors collects the problems of a submitted form by field.
type fieldErrors map[string]string

// add records problem for field unless the field already has one.
func (fe fieldErrors) add(field, problem string) {
	if _, ok := fe[field]; !ok {
		fe[field] = problem
	}
}

// formError is the summary shown above a form with wrong fields.
const formError = "Some fields need attention; nothing was saved."

// statusView is a snapshot formatted for people, used both by the status
// template and by the JSON the page polls, so both always agree.
type statusView struct {
	Connection       string        `json:"connection"`
	ConnectionLabel  string        `json:"connection_label"`
	ConnectionDetail string        `json:"connection_detail"`
	WorkerID         string        `json:"worker_id"`
	WorkerName       string        `json:"worker_name"`
	MasterURL        string        `json:"master_url"`
	Accounts         []accountView `json:"accounts"`
	CPU              string        `json:"cpu"`
	CPUPercent       float64       `json:"cpu_percent"`
	Memory           string        `json:"memory"`
	MemoryMB         float64       `json:"memory_mb"`
	SystemMemory     string        `json:"system_memory"`
	SystemMemoryPct  float64       `json:"system_memory_percent"`
	Temperature      string        `json:"temperature"`
	TemperatureC     *float64      `json:"temperature_c"`
	DiskFree         string        `json:"disk_free"`
	Uptime           string        `json:"uptime"`
	OutboxDepth      int           `json:"outbox_depth"`
	LogLines         []string      `json:"log_lines"`
	UpdatedAt        string        `json:"updated_at"`
}

// accountView is one row of the accounts table.
type accountView struct {
	AccountID  string `json:"account_id"`
	Platform   string `json:"platform"`
	State      string `json:"state"`
	StateClass string `json:"state_class"`
	LastPoll   string `json:"last_poll"`
	LastPollAt string `json:"last_poll_at"`
	LastResult string `json:"last_result"`
	LastError  string `json:"last_error"`
}

// maxLogLines caps the log lines sent to the page.
const maxLogLines = 100

// connectionLabels words the link states.
var connectionLabels = map[ConnectionState]string{
	StateConnected:     "Connected",
	StateConnecting:    "Connecting…",
	StateDisconnected:  "Disconnected",
	StateRejected:      "Rejected by master",
	StateNotConfigured: "Not configured",
}

// newStatusView formats st as of now; fallback fills what st leaves empty.
func newStatusView(st Status, now time.Time, fallbackWorkerID, fallbackName, fallbackMaster string) *statusView {
	v := &statusView{
		Connection:       string(st.Connection),
		ConnectionDetail: st.ConnectionDetail,
		WorkerID:         orDefault(st.WorkerID, fallbackWorkerID),
		WorkerName:       orDefault(st.WorkerName, fallbackName),
		MasterURL:        orDefault(st.MasterURL, fallbackMaster),
		Accounts:         make([]accountView, 0, len(st.Accounts)),
		CPU:              fmt.Sprintf("%.1f %%", st.System.CPUPercent),
		CPUPercent:       st.System.CPUPercent,
		Memory:           formatMB(st.System.MemoryMB),
		MemoryMB:         st.System.MemoryMB,
		Temperature:      "—",
		TemperatureC:     st.System.TemperatureC,
		DiskFree:         formatMB(st.System.DiskFreeMB),
		Uptime:           formatDuration(st.System.Uptime),
		OutboxDepth:      st.OutboxDepth,
		LogLines:         st.LogLines,
		UpdatedAt:        now.Format(time.TimeOnly),
	}
	if v.Connection == "" {
		v.Connection = string(StateDisconnected)
	}
	v.ConnectionLabel = connectionLabels[ConnectionState(v.Connection)]
	if v.ConnectionLabel == "" {
		v.ConnectionLabel = v.Connection
	}
	if st.System.SystemMemoryTotalMB > 0 {
		v.SystemMemoryPct = 100 * st.System.SystemMemoryUsedMB / st.System.SystemMemoryTotalMB
		v.SystemMemory = fmt.Sprintf("%s of %s", formatMB(st.System.SystemMemoryUsedMB), formatMB(st.System.SystemMemoryTotalMB))
	} else {
		v.SystemMemory = "—"
	}
	if t := st.System.TemperatureC; t != nil {
		v.Temperature = fmt.Sprintf("%.1f °C", *t)
	}
	if len(v.LogLines) > maxLogLines {
		v.LogLines = v.LogLines[len(v.LogLines)-maxLogLines:]
	}
	if v.LogLines == nil {
		v.LogLines = []string{}
	}
	for _, a := range st.Accounts {
		av := accountView{
			AccountID:  a.AccountID,
			Platform:   orDefault(a.Platform, "—"),
			State:      orDefault(a.State, "unknown"),
			LastPoll:   "never",
			LastResult: orDefault(a.LastResult, "—"),
			LastError:  a.LastError,
		}
		av.StateClass = stateClass(a.State, a.LastError)
		if !a.LastPoll.IsZero() {
			av.LastPoll = a.LastPoll.In(now.Location()).Format(time.TimeOnly) + " (" + formatAgo(now.Sub(a.LastPoll)) + ")"
			av.LastPollAt = a.LastPoll.UTC().Format(time.RFC3339)
		}
		v.Accounts = append(v.Accounts, av)
	}
	return v
}

// stateClass picks the badge colour of an account state.
func stateClass(state, lastErr string) string {
	switch {
	case lastErr != "" || strings.Contains(state, "error") || strings.Contains(state, "fail"):
		return "bad"
	case state == "running" || state == "ok" || state == "active":
		return "good"
	default:
		return "warn"
	}
}

// orDefault returns v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// formatMB words a size in megabytes.
func formatMB(mb float64) string {
	switch {
	case mb <= 0:
		return "—"
	case mb >= 1024:
		return fmt.Sprintf("%.1f GB", mb/1024)
	default:
		return fmt.Sprintf("%.0f MB", mb)
	}
}

// formatDuration words an uptime: "3 d 4 h", "4 h 12 min", "12 min", "45 s".
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	d = d.Truncate(time.Second)
	days := int(d / (24 * time.Hour))
	hours := int(d/time.Hour) % 24
	mins := int(d/time.Minute) % 60
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case hours > 0:
		return fmt.Sprintf("%d h %d min", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%d min", mins)
	default:
		return fmt.Sprintf("%d s", int(d/time.Second))
	}
}

// formatAgo words how long ago something happened.
func formatAgo(d time.Duration) string {
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d d ago", int(d/(24*time.Hour)))
	}
}
