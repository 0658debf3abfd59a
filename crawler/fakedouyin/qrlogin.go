package fakedouyin

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

// LoginStatus is the state of a QR login session.
type LoginStatus string

// Login states; the check endpoint reports them as "1" to "5".
const (
	LoginWaiting   LoginStatus = "waiting"
	LoginScanned   LoginStatus = "scanned"
	LoginConfirmed LoginStatus = "confirmed"
	LoginRefused   LoginStatus = "refused"
	LoginExpired   LoginStatus = "expired"
)

// wireStatus is the status string the real check endpoint uses.
var wireStatus = map[LoginStatus]string{
	LoginWaiting: "1", LoginScanned: "2", LoginConfirmed: "3", LoginRefused: "4", LoginExpired: "5",
}

// LoginAction is a control action on a login session.
type LoginAction string

// Login actions, as the phone app would trigger them.
const (
	ActionScanned   LoginAction = "scanned"
	ActionConfirmed LoginAction = "confirmed"
	ActionRefused   LoginAction = "refused"
	ActionExpired   LoginAction = "expired"
)

// LoginSession is a pending QR login: one per login panel shown.
type LoginSession struct {
	ID     string      `json:"id"`
	Token  string      `json:"token"`
	Status LoginStatus `json:"status"`
	// QRContent is the text the current QR encodes.
	QRContent string `json:"qr_content"`
	// QRBase64 is the current PNG, base64 encoded.
	QRBase64  string    `json:"qr_base64"`
	CreatedAt time.Time `json:"created_at"`
	RotatedAt time.Time `json:"rotated_at"`
	// UID is the account a confirmed login is bound to.
	UID string `json:"uid,omitempty"`
}

// loginSession is the server-side state of a LoginSession.
type loginSession struct {
	LoginSession
	// base is the origin the QR content points at.
	base     string
	lastPoll time.Time
}

// qrPNG renders content as a base64 PNG.
func qrPNG(content string) (string, error) {
	png, err := qrcode.Encode(content, qrcode.Medium, 256)
	if err != nil {
		return "", fmt.Errorf("encoding qr: %w", err)
	}
	return base64.StdEncoding.EncodeToString(png), nil
}

// rotateLocked gives ls a new token and image.
func (s *Server) rotateLocked(ls *loginSession, now time.Time) error {
	token := s.randHexLocked(16)
	content := ls.base + "/passport/web/qrcode_scan/?token=" + token
	img, err := qrPNG(content)
	if err != nil {
		return err
	}
	ls.Token, ls.QRContent, ls.QRBase64, ls.RotatedAt = token, content, img, now
	return nil
}

// maintainLocked rotates due QR codes and drops sessions whose page is gone.
func (s *Server) maintainLocked(now time.Time) {
	for id, ls := range s.logins {
		if now.Sub(ls.lastPoll) > s.cfg.LoginIdleTimeout {
			delete(s.logins, id)
			continue
		}
		if ls.Status == LoginWaiting && now.Sub(ls.RotatedAt) >= s.cfg.QRRotate {
			if err := s.rotateLocked(ls, now); err != nil {
				s.log.Error("rotating qr", "err", err)
			}
		}
	}
}

// newLoginSession starts a login session for a login panel served to r.
func (s *Server) newLoginSession(r *http.Request) (LoginSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.maintainLocked(now)
	ls := &loginSession{base: "http://" + r.Host, lastPoll: now}
	ls.ID = s.randHexLocked(8)
	ls.Status = LoginWaiting
	ls.CreatedAt = now
	if err := s.rotateLocked(ls, now); err != nil {
		return LoginSession{}, err
	}
	s.logins[ls.ID] = ls
	return ls.LoginSession, nil
}

// LoginSessions lists the pending login sessions, oldest first, with their
// current QR tokens.
func (s *Server) LoginSessions() []LoginSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maintainLocked(s.now())
	out := make([]LoginSession, 0, len(s.logins))
	for _, ls := range s.logins {
		out = append(out, ls.LoginSession)
	}
	slices.SortFunc(out, func(a, b LoginSession) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// DoLogin applies action to the login session with this id or current
// token. ActionConfirmed binds it to account uid, or to a new account when
// uid is empty, and issues fresh credentials that the login panel receives
// on its next poll.
func (s *Server) DoLogin(idOrToken string, action LoginAction, uid string) (LoginSession, error) {
	if _, known := map[LoginAction]bool{ActionScanned: true, ActionConfirmed: true, ActionRefused: true, ActionExpired: true}[action]; !known {
		return LoginSession{}, fmt.Errorf("unknown login action %q", action)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maintainLocked(s.now())
	var ls *loginSession
	for _, l := range s.logins {
		if l.ID == idOrToken || l.Token == idOrToken {
			ls = l
		}
	}
	if ls == nil {
		return LoginSession{}, fmt.Errorf("login session %s: %w", idOrToken, ErrNotFound)
	}
	open := ls.Status == LoginWaiting || ls.Status == LoginScanned
	switch {
	case action == ActionScanned && ls.Status == LoginWaiting:
		ls.Status = LoginScanned
	case action == ActionConfirmed && open:
		var a *account
		if uid != "" {
			var err error
			if a, err = s.accountLocked(uid); err != nil {
				return LoginSession{}, err
			}
		} else {
			a = s.createAccountLocked(AccountSpec{})
		}
		s.issueCredentialsLocked(a)
		a.faults.Expired = false
		ls.Status, ls.UID = LoginConfirmed, a.user.UID
	case action == ActionRefused && open:
		ls.Status = LoginRefused
	case action == ActionExpired && open:
		ls.Status = LoginExpired
	default:
		return LoginSession{}, fmt.Errorf("%s on a %s login session: %w", action, ls.Status, ErrConflict)
	}
	s.log.Info("login session changed", "session", ls.ID, "status", ls.Status)
	return ls.LoginSession, nil
}

// qrCheck is the body of the QR status endpoint.
type qrCheck struct {
	Data      qrCheckData `json:"data"`
	Message   string      `json:"message"`
	ErrorCode int         `json:"error_code"`
}

// qrCheckData is the data part of qrCheck.
type qrCheckData struct {
	Status      string `json:"status"`
	Token       string `json:"token,omitempty"`
	QRCode      string `json:"qrcode,omitempty"`
	QRIndexURL  string `json:"qrcode_index_url,omitempty"`
	Session     string `json:"session,omitempty"`
	RedirectURL string `json:"redirect_url,omitempty"`
	Xmst        string `json:"xmst,omitempty"`
}

// handleQRGet starts a login session outside a page and returns its QR.
func (s *Server) handleQRGet(w http.ResponseWriter, r *http.Request) {
	ls, err := s.newLoginSession(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, qrCheck{Message: "success", Data: qrCheckData{
		Status: wireStatus[ls.Status], Token: ls.Token, QRCode: ls.QRBase64, QRIndexURL: ls.QRContent, Session: ls.ID,
	}})
}

// handleQRCheck answers the login panel's poll. A confirmed login sets the
// account's cookie jar; a finished session is forgotten after it is told.
func (s *Server) handleQRCheck(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.maintainLocked(now)
	ls, ok := s.logins[q.Get("session")]
	if !ok {
		writeJSON(w, http.StatusOK, qrCheck{Message: "success", Data: qrCheckData{Status: wireStatus[LoginExpired]}})
		return
	}
	ls.lastPoll = now
	d := qrCheckData{Status: wireStatus[ls.Status], Token: ls.Token}
	if q.Get("token") != ls.Token {
		d.QRCode, d.QRIndexURL = ls.QRBase64, ls.QRContent
	}
	switch ls.Status {
	case LoginConfirmed:
		a := s.accounts[ls.UID]
		for _, c := range a.creds.Cookies {
			http.SetCookie(w, httpCookie(c))
		}
		d.RedirectURL = PathHome
		if next := q.Get("next"); strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") {
			d.RedirectURL = next
		}
		d.Xmst = a.creds.LocalStorage[LocalXmst]
		delete(s.logins, ls.ID)
	case LoginRefused, LoginExpired:
		delete(s.logins, ls.ID)
	}
	writeJSON(w, http.StatusOK, qrCheck{Message: "success", Data: d})
}
