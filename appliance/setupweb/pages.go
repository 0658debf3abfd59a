package setupweb

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"
)

// statusTimeout bounds one call of the status source.
const statusTimeout = 2 * time.Second

// handleLoginPage shows the login form.
func (s *Server) handleLoginPage(c echo.Context) error {
	if sess := s.sessionFrom(c); sess != nil && sess.kind == kindLogin {
		return c.Redirect(http.StatusSeeOther, pathStatus)
	}
	data := &pageData{Title: "Sign in", CSRF: preCSRFToken(c)}
	if c.QueryParam("signed_out") != "" {
		data.Flash = "You have signed out."
	}
	return s.render(c, http.StatusOK, "login", data)
}

// handleLogin checks the setup password, limited per client IP.
func (s *Server) handleLogin(c echo.Context) error {
	if !checkPreCSRF(c) {
		return errCSRF
	}
	ctx := c.Request().Context()
	ip := c.RealIP()
	now := s.now()
	data := &pageData{Title: "Sign in", CSRF: preCSRFToken(c), Errors: fieldErrors{}}

	if wait := s.loginLimiter.wait(ip, now); wait > 0 {
		secs := int(wait / time.Second)
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		data.Error = fmt.Sprintf("Too many wrong passwords from this device. Wait %d seconds and try again.", secs)
		return s.render(c, http.StatusTooManyRequests, "login", data)
	}
	password := c.FormValue(fieldPassword)
	if password == "" {
		data.Errors[fieldPassword] = "Enter the setup password."
		return s.render(c, http.StatusBadRequest, "login", data)
	}
	hash := s.currentConfig().SetupPasswordHash
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		s.loginLimiter.fail(ip, now)
		s.log.WarnContext(ctx, "wrong setup password", "client", ip)
		data.Errors[fieldPassword] = "Wrong password."
		return s.render(c, http.StatusUnauthorized, "login", data)
	}
	s.startSession(c, kindLogin)
	s.log.InfoContext(ctx, "signed in", "client", ip)
	return c.Redirect(http.StatusSeeOther, pathStatus)
}

// handleLogout ends the session.
func (s *Server) handleLogout(c echo.Context) error {
	s.endSession(c)
	return c.Redirect(http.StatusSeeOther, pathLogin+"?signed_out=1")
}

// statusView returns the current status, formatted.
func (s *Server) statusView(ctx context.Context) *statusView {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	st := s.conf.Status.Status(ctx)
	cfg := s.currentConfig()
	return newStatusView(st, s.now(), cfg.WorkerID, cfg.WorkerName, cfg.MasterURL)
}

// handleStatusPage shows the status page; its script then polls the JSON.
func (s *Server) handleStatusPage(c echo.Context) error {
	sess := sessionOf(c)
	return s.render(c, http.StatusOK, "status", &pageData{
		Title:     "Status",
		Nav:       "status",
		LoggedIn:  true,
		CSRF:      sess.csrf,
		Flash:     s.sessions.takeFlash(sess),
		Status:    s.statusView(c.Request().Context()),
		RefreshMS: s.conf.RefreshInterval.Milliseconds(),
	})
}

// handleStatusJSON answers the status page's polling.
func (s *Server) handleStatusJSON(c echo.Context) error {
	return c.JSON(http.StatusOK, s.statusView(c.Request().Context()))
}

// settingsData returns the settings page's data with the stored values.
func (s *Server) settingsData(sess *session) *pageData {
	cfg := s.currentConfig()
	return &pageData{
		Title:    "Settings",
		Nav:      "settings",
		LoggedIn: true,
		CSRF:     sess.csrf,
		TokenSet: cfg.Token != "",
		WorkerID: cfg.WorkerID,
		Form: map[string]string{
			fieldMasterURL:   cfg.MasterURL,
			fieldWorkerName:  cfg.WorkerName,
			fieldMaxAccounts: strconv.Itoa(cfg.MaxAccounts),
		},
		Errors: fieldErrors{},
	}
}

// handleSettingsPage shows the settings forms.
func (s *Server) handleSettingsPage(c echo.Context) error {
	sess := sessionOf(c)
	data := s.settingsData(sess)
	data.Flash = s.sessions.takeFlash(sess)
	return s.render(c, http.StatusOK, "settings", data)
}

// handleSettings changes the connection settings and applies them without a
// reinstall. Nothing is saved when a field is wrong.
func (s *Server) handleSettings(c echo.Context) error {
	ctx := c.Request().Context()
	sess := sessionOf(c)
	form := readConnForm(c)
	data := s.settingsData(sess)
	data.Form = form.values()

	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cfg
	next := old.Clone()
	form.apply(next, data.Errors, false)
	if len(data.Errors) > 0 {
		data.Error = formError
		if msg, ok := data.Errors["_form"]; ok {
			data.Error = msg
		}
		return s.render(c, http.StatusBadRequest, "settings", data)
	}
	if *next == *old {
		s.sessions.setFlash(sess, "Nothing changed.")
		return c.Redirect(http.StatusSeeOther, pathSettings)
	}
	if err := s.commitLocked(ctx, old, next); err != nil {
		s.log.ErrorContext(ctx, "changing settings", "err", err)
		data.Error = "The new settings could not be applied; the previous ones are back in effect: " +
			scrub(err.Error(), next.Token, old.Token)
		return s.render(c, http.StatusInternalServerError, "settings", data)
	}
	s.log.InfoContext(ctx, "settings changed", "master", next.MasterURL, "worker_name", next.WorkerName,
		"max_accounts", next.MaxAccounts, "token_changed", next.Token != old.Token)
	s.sessions.setFlash(sess, "Settings saved. The appliance is reconnecting with them.")
	return c.Redirect(http.StatusSeeOther, pathSettings)
}

// handlePassword changes the setup password. It needs the current one
// (limited like logins) and signs out every other session.
func (s *Server) handlePassword(c echo.Context) error {
	ctx := c.Request().Context()
	sess := sessionOf(c)
	ip := c.RealIP()
	now := s.now()
	data := s.settingsData(sess)

	if wait := s.loginLimiter.wait(ip, now); wait > 0 {
		secs := int(wait / time.Second)
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		data.Error = fmt.Sprintf("Too many wrong passwords from this device. Wait %d seconds and try again.", secs)
		return s.render(c, http.StatusTooManyRequests, "settings", data)
	}

	current := c.FormValue(fieldCurrentPassword)
	password := c.FormValue(fieldPassword)
	confirm := c.FormValue(fieldPasswordConfirm)

	s.mu.Lock()
	defer s.mu.Unlock()
	if bcrypt.CompareHashAndPassword([]byte(s.cfg.SetupPasswordHash), []byte(current)) != nil {
		s.loginLimiter.fail(ip, now)
		data.Errors[fieldCurrentPassword] = "This is not the current password."
	}
	checkNewPassword(data.Errors, fieldPassword, password, confirm)
	if len(data.Errors) > 0 {
		data.Error = "The password was not changed."
		return s.render(c, http.StatusBadRequest, "settings", data)
	}

	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.conf.BcryptCost)
	if err != nil {
		return fmt.Errorf("hashing password: %w", err)
	}
	next := s.cfg.Clone()
	next.SetupPasswordHash = string(hash)
	// Only the page uses the password: save it, nothing to re-apply.
	if err = s.conf.Store.Save(ctx, next); err != nil {
		return fmt.Errorf("saving password: %w", err)
	}
	s.cfg = next
	s.sessions.deleteOthers(sess.id)
	s.log.InfoContext(ctx, "setup password changed", "client", ip)
	s.sessions.setFlash(sess, "Password changed. Other devices were signed out.")
	return c.Redirect(http.StatusSeeOther, pathSettings)
}
