package setupweb

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Cookie and form names.
const (
	// sessionCookie carries the session id.
	sessionCookie = "tw_session"
	// preCSRFCookie carries the double-submit CSRF token of the forms shown
	// before there is a session (setup code, login).
	preCSRFCookie = "tw_csrf"
	// csrfField is the form field of the CSRF token.
	csrfField = "csrf"
	// csrfHeader is the header of the CSRF token for script requests.
	csrfHeader = "X-CSRF-Token"
)

// sessionKind tells what a session may do.
type sessionKind int

// Session kinds.
const (
	// kindInstall has passed the setup code and may finish the wizard.
	kindInstall sessionKind = iota + 1
	// kindLogin is logged in.
	kindLogin
)

// session is one browser's server-side state. Its fields are set at creation
// and never change, except flash, which the store guards.
type session struct {
	id      string
	kind    sessionKind
	csrf    string
	expires time.Time
	flash   string
}

// sessionStore is the server-side session table, bounded in size.
type sessionStore struct {
	ttl time.Duration
	max int

	// mu guards m.
	mu sync.Mutex
	m  map[string]*session
}

// newSessionStore returns an empty store.
func newSessionStore(ttl time.Duration, maxSessions int) *sessionStore {
	return &sessionStore{ttl: ttl, max: maxSessions, m: make(map[string]*session)}
}

// randomToken returns 32 random bytes in URL-safe base64.
func randomToken() string {
	var b [32]byte
	// crypto/rand.Read never fails on supported platforms.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session of kind, pruning expired ones and, if the table is
// full, the one closest to expiry.
func (st *sessionStore) create(kind sessionKind, now time.Time) *session {
	sess := &session{id: randomToken(), kind: kind, csrf: randomToken(), expires: now.Add(st.ttl)}
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, old := range st.m {
		if !now.Before(old.expires) {
			delete(st.m, id)
		}
	}
	if len(st.m) >= st.max {
		var oldest *session
		for _, old := range st.m {
			if oldest == nil || old.expires.Before(oldest.expires) {
				oldest = old
			}
		}
		delete(st.m, oldest.id)
	}
	st.m[sess.id] = sess
	return sess
}

// get returns the live session with id, or nil.
func (st *sessionStore) get(id string, now time.Time) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	sess := st.m[id]
	if sess == nil {
		return nil
	}
	if !now.Before(sess.expires) {
		delete(st.m, id)
		return nil
	}
	return sess
}

// delete ends the session with id.
func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, id)
}

// deleteOthers ends every session but keep (after a password change).
func (st *sessionStore) deleteOthers(keep string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for id := range st.m {
		if id != keep {
			delete(st.m, id)
		}
	}
}

// setFlash stores a one-time message for the session's next page.
func (st *sessionStore) setFlash(sess *session, msg string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	sess.flash = msg
}

// takeFlash returns and clears the session's one-time message.
func (st *sessionStore) takeFlash(sess *session) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	msg := sess.flash
	sess.flash = ""
	return msg
}

// sessionFrom returns the request's live session, or nil.
func (s *Server) sessionFrom(c echo.Context) *session {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	return s.sessions.get(ck.Value, s.now())
}

// startSession creates a session of kind, ends the request's previous one
// (a new id on every change of privilege, against session fixation) and sets
// the cookie.
func (s *Server) startSession(c echo.Context, kind sessionKind) *session {
	if old := s.sessionFrom(c); old != nil {
		s.sessions.delete(old.id)
	}
	sess := s.sessions.create(kind, s.now())
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    sess.id,
		Path:     "/",
		MaxAge:   int(s.conf.SessionTTL / time.Second),
		HttpOnly: true,
		Secure:   c.Request().TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return sess
}

// endSession ends the request's session and clears its cookie.
func (s *Server) endSession(c echo.Context) {
	if sess := s.sessionFrom(c); sess != nil {
		s.sessions.delete(sess.id)
	}
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   c.Request().TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// requestCSRF returns the CSRF token the request carries, from the header
// (scripts) or the form field.
func requestCSRF(c echo.Context) string {
	if v := c.Request().Header.Get(csrfHeader); v != "" {
		return v
	}
	return c.FormValue(csrfField)
}

// tokensEqual compares two tokens in constant time; empty never matches.
func tokensEqual(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// preCSRFToken returns the double-submit token of the request, setting a new
// cookie when there is none. Forms shown before a session exists carry it.
func preCSRFToken(c echo.Context) string {
	if ck, err := c.Cookie(preCSRFCookie); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	tok := randomToken()
	c.SetCookie(&http.Cookie{
		Name:     preCSRFCookie,
		Value:    tok,
		Path:     "/",
		HttpOnly: true,
		Secure:   c.Request().TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return tok
}

// checkPreCSRF reports whether the request's form token matches its
// double-submit cookie.
func checkPreCSRF(c echo.Context) bool {
	ck, err := c.Cookie(preCSRFCookie)
	if err != nil {
		return false
	}
	return tokensEqual(ck.Value, requestCSRF(c))
}
