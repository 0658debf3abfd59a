package setupweb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/tidewatch/tidewatch/appliance/config"
)

// maxAccountsLimit is the largest capacity the form accepts.
const maxAccountsLimit = config.MaxAccountsLimit

// Form field names shared by the templates, handlers and tests.
const (
	fieldCode            = "code"
	fieldPassword        = "password"
	fieldPasswordConfirm = "password_confirm"
	fieldCurrentPassword = "current_password"
	fieldMasterURL       = "master_url"
	fieldToken           = "token"
	fieldWorkerName      = "worker_name"
	fieldMaxAccounts     = "max_accounts"
)

// configFieldToForm maps config.FieldError fields to form fields.
var configFieldToForm = map[string]string{
	"master":       fieldMasterURL,
	"worker_name":  fieldWorkerName,
	"max_accounts": fieldMaxAccounts,
}

// handleSetupPage shows the wizard: the setup code step, or the settings
// step once the code was accepted.
func (s *Server) handleSetupPage(c echo.Context) error {
	if sess := s.sessionFrom(c); sess != nil && sess.kind == kindInstall {
		cfg := s.currentConfig()
		return s.render(c, http.StatusOK, "setup_form", &pageData{
			Title: "Set up · Step 2 of 2",
			CSRF:  sess.csrf,
			Form: map[string]string{
				fieldMasterURL:   cfg.MasterURL,
				fieldWorkerName:  cfg.WorkerName,
				fieldMaxAccounts: strconv.Itoa(cfg.MaxAccounts),
			},
			WorkerID: cfg.WorkerID,
		})
	}
	return s.render(c, http.StatusOK, "setup_code", &pageData{Title: "Set up · Step 1 of 2", CSRF: preCSRFToken(c)})
}

// handleSetupCode checks the one-time setup code and, when right, starts an
// install session for the wizard's second step.
func (s *Server) handleSetupCode(c echo.Context) error {
	if !checkPreCSRF(c) {
		return errCSRF
	}
	ctx := c.Request().Context()
	ip := c.RealIP()
	now := s.now()
	data := &pageData{Title: "Set up · Step 1 of 2", CSRF: preCSRFToken(c), Errors: fieldErrors{}}

	if wait := s.codeLimiter.wait(ip, now); wait > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		data.Error = fmt.Sprintf("Too many wrong codes from this device. Wait %d seconds and try again.", int(wait/time.Second))
		return s.render(c, http.StatusTooManyRequests, "setup_code", data)
	}
	code := normaliseCode(c.FormValue(fieldCode))
	if code == "" {
		data.Errors[fieldCode] = "Enter the setup code."
		return s.render(c, http.StatusBadRequest, "setup_code", data)
	}
	if !tokensEqual(code, normaliseCode(s.conf.SetupCode)) {
		s.codeLimiter.fail(ip, now)
		s.log.WarnContext(ctx, "wrong setup code", "client", ip)
		data.Errors[fieldCode] = "That code is not right. Check the appliance's log for the current code."
		return s.render(c, http.StatusForbidden, "setup_code", data)
	}
	s.startSession(c, kindInstall)
	s.log.InfoContext(ctx, "setup code accepted", "client", ip)
	return c.Redirect(http.StatusSeeOther, pathSetup)
}

// setupForm is the wizard's second step as submitted.
type setupForm struct {
	password, confirm string
	conn              connForm
}

// connForm holds the connection fields shared by the wizard and settings.
type connForm struct {
	masterURL, token, workerName, maxAccounts string
}

// readConnForm reads the connection fields of a form.
func readConnForm(c echo.Context) connForm {
	return connForm{
		masterURL:   strings.TrimSpace(c.FormValue(fieldMasterURL)),
		token:       strings.TrimSpace(c.FormValue(fieldToken)),
		workerName:  strings.TrimSpace(c.FormValue(fieldWorkerName)),
		maxAccounts: strings.TrimSpace(c.FormValue(fieldMaxAccounts)),
	}
}

// values returns the fields to show again in a form; never the token.
func (f connForm) values() map[string]string {
	return map[string]string{
		fieldMasterURL:   f.masterURL,
		fieldWorkerName:  f.workerName,
		fieldMaxAccounts: f.maxAccounts,
	}
}

// apply copies the form into next and records every wrong field in errs.
// An empty token keeps next's token (settings); tokenRequired refuses that.
func (f connForm) apply(next *config.Config, errs fieldErrors, tokenRequired bool) {
	if f.masterURL == "" {
		errs.add(fieldMasterURL, "Enter the master's address, e.g. https://tidewatch.example.com.")
	}
	next.MasterURL = f.masterURL

	switch {
	case f.token == "" && (tokenRequired || next.Token == ""):
		errs.add(fieldToken, "Enter the enrollment token from the master's dashboard.")
	case utf8.RuneCountInString(f.token) > maxTokenLen:
		errs.add(fieldToken, "This is too long for an enrollment token.")
	case f.token != "":
		next.Token = f.token
	}

	next.WorkerName = f.workerName
	n, err := strconv.Atoi(f.maxAccounts)
	if err != nil {
		errs.add(fieldMaxAccounts, "Enter a whole number between 1 and "+strconv.Itoa(maxAccountsLimit)+".")
	} else {
		next.MaxAccounts = n
	}

	for _, p := range next.Problems() {
		field, ok := configFieldToForm[p.Field]
		if !ok {
			// A setting the form does not show is wrong (e.g. from the
			// environment); name it so the user can find it.
			field = "_form"
		}
		errs.add(field, sentence(p.Error()))
	}
}

// sentence turns a config.FieldError message such as "max_accounts: must be
// between 1 and 100" into a form hint: "Must be between 1 and 100."
func sentence(msg string) string {
	if _, after, ok := strings.Cut(msg, ": "); ok {
		msg = after
	}
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// checkNewPassword records problems of a new password and its confirmation.
func checkNewPassword(errs fieldErrors, field, password, confirm string) {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLen:
		errs.add(field, fmt.Sprintf("Use at least %d characters.", MinPasswordLen))
	case len(password) > maxPasswordBytes:
		errs.add(field, fmt.Sprintf("Use at most %d bytes.", maxPasswordBytes))
	}
	if confirm != password {
		errs.add(fieldPasswordConfirm, "The two passwords differ.")
	}
}

// handleSetupFinish validates the wizard's second step, saves and applies
// the configuration, and logs the user in.
func (s *Server) handleSetupFinish(c echo.Context) error {
	ctx := c.Request().Context()
	form := setupForm{
		password: c.FormValue(fieldPassword),
		confirm:  c.FormValue(fieldPasswordConfirm),
		conn:     readConnForm(c),
	}
	sess := sessionOf(c)
	data := &pageData{Title: "Set up · Step 2 of 2", CSRF: sess.csrf, Form: form.conn.values(), Errors: fieldErrors{}}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Configured() {
		// Another device finished first.
		return &pageError{status: http.StatusForbidden, title: "Already set up",
			message: "This appliance was just set up from another device. Sign in instead.", link: pathLogin, linkText: "Sign in"}
	}
	old := s.cfg
	next := old.Clone()
	checkNewPassword(data.Errors, fieldPassword, form.password, form.confirm)
	form.conn.apply(next, data.Errors, true)
	data.WorkerID = next.WorkerID
	if len(data.Errors) > 0 {
		data.Error = formError
		if msg, ok := data.Errors["_form"]; ok {
			data.Error = msg
		}
		return s.render(c, http.StatusBadRequest, "setup_form", data)
	}

	hash, err := bcrypt.GenerateFromPassword([]byte(form.password), s.conf.BcryptCost)
	if err != nil {
		return fmt.Errorf("hashing password: %w", err)
	}
	next.SetupPasswordHash = string(hash)
	if err = s.commitLocked(ctx, old, next); err != nil {
		s.log.ErrorContext(ctx, "finishing setup", "err", err)
		data.Error = "The settings could not be applied, so nothing was changed: " + scrub(err.Error(), next.Token)
		return s.render(c, http.StatusInternalServerError, "setup_form", data)
	}

	s.log.InfoContext(ctx, "setup finished", "worker_id", next.WorkerID, "master", next.MasterURL, "client", c.RealIP())
	login := s.startSession(c, kindLogin)
	s.sessions.setFlash(login, "Setup is complete. The appliance is connecting to the master.")
	return c.Redirect(http.StatusSeeOther, pathStatus)
}

// commitLocked saves next and applies it. When applying fails it restores
// and re-applies old, so disk and the running appliance keep agreeing. The
// caller holds s.mu.
func (s *Server) commitLocked(reqCtx context.Context, old, next *config.Config) error {
	// Finish even if the browser goes away mid-way: half-applied settings are
	// worse than a late answer.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(reqCtx), s.conf.ApplyTimeout)
	defer cancel()

	if err := s.conf.Store.Save(ctx, next); err != nil {
		return fmt.Errorf("saving settings: %w", err)
	}
	err := s.conf.Applier.Apply(ctx, next.Clone())
	if err == nil {
		s.cfg = next
		return nil
	}
	err = fmt.Errorf("applying settings: %w", err)
	if rerr := s.conf.Store.Save(ctx, old); rerr != nil {
		return errors.Join(err, fmt.Errorf("restoring previous settings: %w", rerr))
	}
	if old.Configured() {
		if aerr := s.conf.Applier.Apply(ctx, old.Clone()); aerr != nil {
			return errors.Join(err, fmt.Errorf("re-applying previous settings: %w", aerr))
		}
	}
	return err
}

// scrub removes secret values from a message shown on the page.
func scrub(msg string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			msg = strings.ReplaceAll(msg, sec, "[redacted]")
		}
	}
	return msg
}

// testAnswer is the JSON answer of "test connection".
type testAnswer struct {
	OK      bool   `json:"ok"`
	Outcome string `json:"outcome"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// outcomeText words each test outcome.
var outcomeText = map[TestOutcome]string{
	TestOK:              "Connected: the master accepted the token.",
	TestUnreachable:     "The master could not be reached.",
	TestBadToken:        "The master refused the enrollment token.",
	TestVersionMismatch: "The master speaks a protocol version this appliance does not support.",
}

// handleTest runs "test connection" for the wizard and the settings page.
// In settings, an empty token field means the stored token.
func (s *Server) handleTest(c echo.Context) error {
	f := readConnForm(c)
	if f.token == "" && sessionOf(c).kind == kindLogin {
		f.token = s.currentConfig().Token
	}
	switch {
	case f.masterURL == "":
		return c.JSON(http.StatusBadRequest, testAnswer{Outcome: "invalid", Field: fieldMasterURL,
			Message: "Enter the master's address first."})
	case f.token == "":
		return c.JSON(http.StatusBadRequest, testAnswer{Outcome: "invalid", Field: fieldToken,
			Message: "Enter the enrollment token first."})
	}
	probe := config.New("-")
	probe.MasterURL = f.masterURL
	for _, p := range probe.Problems() {
		if p.Field == "master" {
			return c.JSON(http.StatusBadRequest, testAnswer{Outcome: "invalid", Field: fieldMasterURL,
				Message: "The master's address " + p.Problem + "."})
		}
	}

	ctx, cancel := context.WithTimeout(c.Request().Context(), s.conf.TestTimeout)
	defer cancel()
	res, err := s.conf.Tester.Test(ctx, f.masterURL, f.token)
	if err != nil {
		s.log.WarnContext(ctx, "connection test could not run", "master", f.masterURL, "err", scrub(err.Error(), f.token))
		return c.JSON(http.StatusBadGateway, testAnswer{Outcome: "error",
			Message: "The test could not run: " + scrub(err.Error(), f.token)})
	}
	msg := outcomeText[res.Outcome]
	if msg == "" {
		msg = "The master answered: " + string(res.Outcome) + "."
	}
	if res.Message != "" {
		msg += " " + scrub(res.Message, f.token)
	}
	s.log.InfoContext(ctx, "connection tested", "master", f.masterURL, "outcome", string(res.Outcome))
	return c.JSON(http.StatusOK, testAnswer{OK: res.Outcome == TestOK, Outcome: string(res.Outcome), Message: msg})
}
