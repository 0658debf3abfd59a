package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/cookiejar"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

// Defaults of QR login.
const (
	// DefaultLoginTimeout is how long a login waits for a scan; the
	// platform's own QR page gives up after five minutes.
	DefaultLoginTimeout = 5 * time.Minute
	// DefaultLoginGrace is how long past its timeout the master waits for
	// the appliance's own verdict before calling a login failed.
	DefaultLoginGrace = 15 * time.Second
	// loginKeep is how long a finished login stays readable.
	loginKeep = 10 * time.Minute
)

// Errors of the login flow.
var (
	ErrNoWorker       = errors.New("no capable appliance is online")
	ErrLoginNotFound  = errors.New("no such login session")
	ErrLoginFinished  = errors.New("login session already finished")
	ErrAccountMissing = errors.New("no such account")
)

// LoginSession is one QR login as the API shows it.
type LoginSession struct {
	ID           string                  `json:"session_id"`
	AccountID    string                  `json:"account_id"`
	UserID       string                  `json:"-"`
	WorkerID     string                  `json:"worker_id"`
	Status       string                  `json:"status"`
	QRCodeData   string                  `json:"qr_code_data,omitempty"`
	QRUpdates    int                     `json:"qr_updates"`
	ErrorType    string                  `json:"error_type,omitempty"`
	ErrorMessage string                  `json:"error_message,omitempty"`
	UserInfo     *protocol.LoginUserInfo `json:"user_info,omitempty"`
	CreatedAt    time.Time               `json:"created_at"`
	UpdatedAt    time.Time               `json:"updated_at"`
	ExpiresAt    time.Time               `json:"expires_at"`
}

// finished reports whether the session reached an end state.
func (s *LoginSession) finished() bool {
	switch s.Status {
	case protocol.LoginStatusSucceeded, protocol.LoginStatusFailed, protocol.LoginStatusCancelled:
		return true
	}
	return false
}

// StartLogin asks a capable online appliance to open a login page for an
// account; the account's current worker is preferred. Logins do not count
// against an appliance's monitoring capacity.
func (h *Hub) StartLogin(ctx context.Context, accountID, userID string) (LoginSession, error) {
	a, err := h.st.GetAccount(ctx, accountID)
	if err != nil {
		return LoginSession{}, fmt.Errorf("%w: %w", ErrAccountMissing, err)
	}
	worker := ""
	h.mu.Lock()
	if w := h.workers[a.WorkerID]; w != nil && w.online && w.connected() && slices.Contains(w.capabilities, a.Platform) {
		worker = a.WorkerID
	} else {
		ids := make([]string, 0, len(h.workers))
		for id := range h.workers {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			w := h.workers[id]
			if w.online && w.connected() && !w.draining && slices.Contains(w.capabilities, a.Platform) {
				worker = id
				break
			}
		}
	}
	h.mu.Unlock()
	if worker == "" {
		return LoginSession{}, ErrNoWorker
	}
	now := h.cfg.Now()
	s := &LoginSession{
		ID: newLoginID(), AccountID: a.ID, UserID: userID, WorkerID: worker, Status: protocol.LoginStatusPending,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(h.cfg.LoginTimeout),
	}
	h.loginMu.Lock()
	h.logins[s.ID] = s
	out := *s
	h.loginMu.Unlock()
	h.emitTo(protocol.NewMessage(protocol.TypeLoginStart, protocol.LoginStart{
		AccountID: a.ID, SessionID: s.ID, Platform: a.Platform, TimeoutSeconds: int(h.cfg.LoginTimeout / time.Second),
	}, now, ""), workerRoom(worker))
	h.log.InfoContext(ctx, "login started", "session_id", s.ID, "account_id", a.ID, "worker_id", worker)
	h.pushLogin(ctx, out)
	return out, nil
}

// Login returns a login session.
func (h *Hub) Login(id string) (LoginSession, bool) {
	h.loginMu.Lock()
	defer h.loginMu.Unlock()
	s, ok := h.logins[id]
	if !ok {
		return LoginSession{}, false
	}
	return *s, true
}

// CancelLogin stops a login; the appliance closes its login page.
func (h *Hub) CancelLogin(ctx context.Context, id string) (LoginSession, error) {
	s, err := h.updateLogin(ctx, id, "", func(s *LoginSession) {
		s.Status = protocol.LoginStatusCancelled
	})
	if err != nil {
		return s, err
	}
	h.emitTo(protocol.NewMessage(protocol.TypeLoginCancel, protocol.LoginCancel{SessionID: id, AccountID: s.AccountID}, h.cfg.Now(), ""), workerRoom(s.WorkerID))
	return s, nil
}

// updateLogin changes a running session reported on by worker (any worker
// when "") and pushes the new state.
func (h *Hub) updateLogin(ctx context.Context, id, worker string, change func(*LoginSession)) (LoginSession, error) {
	h.loginMu.Lock()
	s, ok := h.logins[id]
	if !ok || (worker != "" && s.WorkerID != worker) {
		h.loginMu.Unlock()
		return LoginSession{}, ErrLoginNotFound
	}
	if s.finished() {
		out := *s
		h.loginMu.Unlock()
		return out, ErrLoginFinished
	}
	change(s)
	s.UpdatedAt = h.cfg.Now()
	out := *s
	h.loginMu.Unlock()
	h.pushLogin(ctx, out)
	return out, nil
}

// pushLogin sends master:login:update to the users who may see the account.
func (h *Hub) pushLogin(ctx context.Context, s LoginSession) {
	users, err := h.st.AccountViewers(ctx, s.AccountID)
	if err != nil {
		return
	}
	rooms := make([]string, len(users))
	for i, u := range users {
		rooms[i] = userRoom(u)
	}
	h.emitTo(protocol.NewMessage(protocol.TypeLoginUpdate, protocol.LoginUpdate{
		SessionID: s.ID, AccountID: s.AccountID, Status: s.Status, QRCodeData: s.QRCodeData,
		ErrorType: s.ErrorType, ErrorMessage: s.ErrorMessage, UserInfo: s.UserInfo,
	}, h.cfg.Now(), ""), rooms...)
}

// handleLoginQRCode records a new QR image.
func (h *Hub) handleLoginQRCode(ctx context.Context, r *request, cur identity, p *protocol.LoginQRCode) {
	_, err := h.updateLogin(ctx, p.SessionID, cur.workerID, func(s *LoginSession) {
		s.Status, s.QRCodeData = protocol.LoginStatusQRReady, p.QRCodeData
		s.QRUpdates++
	})
	h.answerLogin(r, err)
}

// handleLoginFailed ends a login the appliance gave up on.
func (h *Hub) handleLoginFailed(ctx context.Context, r *request, cur identity, p *protocol.LoginFailed) {
	_, err := h.updateLogin(ctx, p.SessionID, cur.workerID, func(s *LoginSession) {
		s.Status, s.ErrorType, s.ErrorMessage = protocol.LoginStatusFailed, p.ErrorType, p.ErrorMessage
		s.QRCodeData = ""
	})
	if err == nil {
		h.log.InfoContext(ctx, "login failed", "session_id", p.SessionID, "error_type", p.ErrorType)
	}
	h.answerLogin(r, err)
}

// handleLoginSuccess stores the new credentials, activates the account and
// assigns it.
func (h *Hub) handleLoginSuccess(ctx context.Context, r *request, cur identity, p *protocol.LoginSuccess) {
	s, ok := h.Login(p.SessionID)
	if !ok || s.WorkerID != cur.workerID || s.AccountID != p.AccountID {
		h.answerLogin(r, ErrLoginNotFound)
		return
	}
	creds, err := credseal.Open(cur.sealKey, p.Credentials, p.AccountID)
	if err != nil {
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "credentials could not be opened with this worker's key"))
		return
	}
	a, err := h.st.GetAccount(ctx, p.AccountID)
	if err != nil {
		h.fail(r, protocol.Errorf(protocol.ErrAccountNotFound, "account %q does not exist", p.AccountID))
		return
	}
	if err := h.storeCredentials(ctx, a.ID, a.Platform, creds, 0); err != nil {
		h.log.ErrorContext(ctx, "storing login credentials", "account_id", a.ID, "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not store the credentials"))
		return
	}
	if a.Status != protocol.AccountStatusPaused {
		if _, err := h.st.SetAccountStatus(ctx, a.ID, protocol.AccountStatusActive, ""); err != nil {
			h.log.ErrorContext(ctx, "activating account", "account_id", a.ID, "err", err)
		}
	}
	info := p.UserInfo
	_, err = h.updateLogin(ctx, p.SessionID, cur.workerID, func(s *LoginSession) {
		s.Status, s.UserInfo, s.QRCodeData = protocol.LoginStatusSucceeded, &info, ""
	})
	h.answerLogin(r, err)
	h.log.InfoContext(ctx, "login succeeded", "session_id", p.SessionID, "account_id", a.ID)
	if err := h.AccountChanged(ctx, a.ID); err != nil {
		h.log.ErrorContext(ctx, "assigning account after login", "account_id", a.ID, "err", err)
	}
}

// answerLogin acks a login report, or says why it was refused.
func (h *Hub) answerLogin(r *request, err error) {
	switch {
	case errors.Is(err, ErrLoginNotFound):
		h.fail(r, protocol.Errorf(protocol.ErrNotFound, "no such login session for this appliance"))
	case errors.Is(err, ErrLoginFinished):
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "the login session has already finished"))
	default:
		h.reply(r, r.env.Type+":ack", protocol.SuccessAck{Success: true})
	}
}

// storeCredentials saves an account's credentials with their expiry: the
// given one, or the earliest among the platform's session cookies.
func (h *Hub) storeCredentials(ctx context.Context, accountID, platform string, creds []byte, expires protocol.Timestamp) error {
	var exp *time.Time
	if expires != 0 {
		t := expires.Time()
		exp = &t
	} else if t, ok := cookiejar.SessionExpiry(platform, creds); ok {
		exp = &t
	}
	return h.st.SetAccountCredentials(ctx, accountID, creds, exp)
}

// sweepLogins fails logins the appliance never finished and forgets old ones.
func (h *Hub) sweepLogins(ctx context.Context) {
	now := h.cfg.Now()
	var expired []string
	h.loginMu.Lock()
	for id, s := range h.logins {
		switch {
		case s.finished() && now.Sub(s.UpdatedAt) > loginKeep:
			delete(h.logins, id)
		case !s.finished() && now.After(s.ExpiresAt.Add(h.cfg.LoginGrace)):
			expired = append(expired, id)
		}
	}
	h.loginMu.Unlock()
	for _, id := range expired {
		_, _ = h.updateLogin(ctx, id, "", func(s *LoginSession) {
			s.Status, s.ErrorType, s.ErrorMessage, s.QRCodeData = protocol.LoginStatusFailed, protocol.LoginErrorTimeout, "nobody scanned the code in time", ""
		})
	}
}

// newLoginID returns a random login session id.
func newLoginID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "login-" + hex.EncodeToString(b)
}
