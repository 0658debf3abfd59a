package setupweb

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Routes of the page. Install-only routes answer 403 once the appliance is
// configured; the others need a configured appliance and a login.
const (
	pathRoot          = "/"
	pathSetup         = "/setup"
	pathSetupCode     = "/setup/code"
	pathSetupTest     = "/setup/test"
	pathSetupFinish   = "/setup/finish"
	pathLogin         = "/login"
	pathLogout        = "/logout"
	pathStatus        = "/status"
	pathStatusJSON    = "/api/status"
	pathSettings      = "/settings"
	pathSettingsPass  = "/settings/password"
	pathSettingsTest  = "/settings/test"
	pathAssets        = "/assets"
	maxRequestBodyLen = "64K"
)

// route is one entry of the route table.
type route struct {
	method  string
	path    string
	handler echo.HandlerFunc
	mw      []echo.MiddlewareFunc
}

// newEcho builds the router with every route from one table.
func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(io.Discard)
	e.HTTPErrorHandler = s.handleError
	// The page faces the LAN directly: never trust X-Forwarded-For, or a
	// client could dodge the login limit by inventing addresses.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(s.recoverPanics, securityHeaders, middleware.BodyLimit(maxRequestBodyLen))

	install := []echo.MiddlewareFunc{s.installOnly}
	installSession := []echo.MiddlewareFunc{s.installOnly, s.requireSession(kindInstall), s.checkCSRF}
	configured := []echo.MiddlewareFunc{s.configuredOnly}
	login := []echo.MiddlewareFunc{s.configuredOnly, s.requireSession(kindLogin)}
	loginCSRF := []echo.MiddlewareFunc{s.configuredOnly, s.requireSession(kindLogin), s.checkCSRF}

	routes := []route{
		{http.MethodGet, pathRoot, s.handleRoot, nil},
		{http.MethodGet, pathSetup, s.handleSetupPage, install},
		{http.MethodPost, pathSetupCode, s.handleSetupCode, install},
		{http.MethodPost, pathSetupTest, s.handleTest, installSession},
		{http.MethodPost, pathSetupFinish, s.handleSetupFinish, installSession},
		{http.MethodGet, pathLogin, s.handleLoginPage, configured},
		{http.MethodPost, pathLogin, s.handleLogin, configured},
		{http.MethodPost, pathLogout, s.handleLogout, loginCSRF},
		{http.MethodGet, pathStatus, s.handleStatusPage, login},
		{http.MethodGet, pathStatusJSON, s.handleStatusJSON, login},
		{http.MethodGet, pathSettings, s.handleSettingsPage, login},
		{http.MethodPost, pathSettings, s.handleSettings, loginCSRF},
		{http.MethodPost, pathSettingsPass, s.handlePassword, loginCSRF},
		{http.MethodPost, pathSettingsTest, s.handleTest, loginCSRF},
	}
	for _, r := range routes {
		e.Add(r.method, r.path, r.handler, r.mw...)
	}

	static, err := fs.Sub(assetsFS, "assets/static")
	if err != nil {
		// The directory is embedded at build time; this cannot happen.
		panic(fmt.Sprintf("setupweb: embedded assets: %v", err))
	}
	e.StaticFS(pathAssets, static)
	return e
}

// recoverPanics turns a panicking handler into a logged 500.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				s.log.ErrorContext(c.Request().Context(), "handler panicked", "path", c.Path(), "panic", v)
				err = fmt.Errorf("handler panicked: %v", v)
			}
		}()
		return next(c)
	}
}

// contentSecurityPolicy allows only the page's own embedded files: no
// inline script, no third-party hosts, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every answer carries.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(c.Request().URL.Path, pathAssets+"/") {
			h.Set("Cache-Control", "public, max-age=300")
		} else {
			h.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

// installOnly refuses install routes once the appliance is configured.
func (s *Server) installOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.configured() {
			return &pageError{
				status:   http.StatusForbidden,
				title:    "Already set up",
				message:  "This appliance is already set up. Sign in to change its settings.",
				link:     pathLogin,
				linkText: "Sign in",
			}
		}
		return next(c)
	}
}

// configuredOnly sends visitors of an unconfigured appliance to the wizard.
func (s *Server) configuredOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.configured() {
			if c.Request().Method == http.MethodGet && !wantsJSON(c) {
				return c.Redirect(http.StatusSeeOther, pathSetup)
			}
			return &pageError{status: http.StatusConflict, title: "Not set up", message: "This appliance is not set up yet.",
				link: pathSetup, linkText: "Start setup"}
		}
		return next(c)
	}
}

// ctxSession is the echo context key of the request's session.
const ctxSession = "tw.session"

// requireSession lets through requests with a live session of kind and
// stores it in the context; others go to the login page (or get 401).
func (s *Server) requireSession(kind sessionKind) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sess := s.sessionFrom(c)
			if sess == nil || sess.kind != kind {
				if kind == kindInstall {
					return &pageError{status: http.StatusForbidden, title: "Setup code needed",
						message: "Enter the setup code first.", link: pathSetup, linkText: "Enter setup code"}
				}
				if c.Request().Method == http.MethodGet && !wantsJSON(c) {
					return c.Redirect(http.StatusSeeOther, pathLogin)
				}
				return &pageError{status: http.StatusUnauthorized, title: "Signed out",
					message: "Your session has ended. Sign in again.", link: pathLogin, linkText: "Sign in"}
			}
			c.Set(ctxSession, sess)
			return next(c)
		}
	}
}

// checkCSRF rejects a state-changing request whose CSRF token does not match
// its session's.
func (s *Server) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess := sessionOf(c)
		if sess == nil || !tokensEqual(sess.csrf, requestCSRF(c)) {
			s.log.WarnContext(c.Request().Context(), "csrf check failed", "path", c.Path(), "client", c.RealIP())
			return errCSRF
		}
		return next(c)
	}
}

// errCSRF answers a request with a missing or wrong CSRF token.
var errCSRF = &pageError{
	status:   http.StatusForbidden,
	title:    "Form expired",
	message:  "This form has expired or was sent from another page. Reload the page and try again.",
	link:     pathRoot,
	linkText: "Reload",
}

// sessionOf returns the session stored by requireSession.
func sessionOf(c echo.Context) *session {
	sess, _ := c.Get(ctxSession).(*session)
	return sess
}

// wantsJSON reports whether the client is the page's script or an API
// client rather than a browser navigation.
func wantsJSON(c echo.Context) bool {
	r := c.Request()
	return strings.HasPrefix(r.URL.Path, "/api/") ||
		strings.Contains(r.Header.Get(echo.HeaderAccept), echo.MIMEApplicationJSON) ||
		r.Header.Get(csrfHeader) != ""
}

// handleRoot sends the visitor where they belong.
func (s *Server) handleRoot(c echo.Context) error {
	switch {
	case !s.configured():
		return c.Redirect(http.StatusSeeOther, pathSetup)
	case s.sessionFrom(c) != nil && s.sessionFrom(c).kind == kindLogin:
		return c.Redirect(http.StatusSeeOther, pathStatus)
	default:
		return c.Redirect(http.StatusSeeOther, pathLogin)
	}
}
