package agent

import (
	"context"
	"time"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

// defaultLoginTimeout is used when master:login:start names none.
const defaultLoginTimeout = 5 * time.Minute

// startLogin runs a QR login the master asked for on the platform's
// factory; its progress goes back as worker:login:* messages.
func (a *Agent) startLogin(ctx context.Context, p *protocol.LoginStart) {
	req := crawler.LoginRequest{SessionID: p.SessionID, AccountID: p.AccountID, Timeout: time.Duration(p.TimeoutSeconds) * time.Second}
	if req.Timeout <= 0 {
		req.Timeout = defaultLoginTimeout
	}
	platform := p.Platform
	if platform == "" {
		platform = protocol.PlatformDouyin
	}
	lf, ok := a.factories[platform].(crawler.LoginFactory)
	if !ok {
		a.loginFailed(ctx, req, "unsupported", "this appliance cannot log in to "+platform)
		return
	}
	a.mu.Lock()
	if _, running := a.logins[req.SessionID]; running {
		a.mu.Unlock()
		return
	}
	lctx, cancel := context.WithCancel(a.runCtx)
	a.logins[req.SessionID] = cancel
	a.mu.Unlock()
	a.log.InfoContext(ctx, "login started", "login_id", req.SessionID, "account_id", req.AccountID)
	if err := lf.Login(lctx, req, &loginSink{a: a}); err != nil {
		a.endLogin(req.SessionID)
		a.loginFailed(ctx, req, protocol.ErrorTypeNetworkError, err.Error())
	}
}

// cancelLogin stops a login the master cancelled; it reports nothing.
func (a *Agent) cancelLogin(ctx context.Context, p *protocol.LoginCancel) {
	if a.endLogin(p.SessionID) {
		a.log.InfoContext(ctx, "login cancelled", "login_id", p.SessionID)
	}
}

// endLogin forgets a login and cancels its context; it reports whether the
// login was running.
func (a *Agent) endLogin(sessionID string) bool {
	a.mu.Lock()
	cancel, ok := a.logins[sessionID]
	delete(a.logins, sessionID)
	a.mu.Unlock()
	if ok {
		cancel()
	}
	return ok
}

// loginFailed sends worker:login:failed.
func (a *Agent) loginFailed(ctx context.Context, req crawler.LoginRequest, errorType, message string) {
	a.sendLogin(ctx, protocol.TypeLoginFailed, protocol.LoginFailed{
		SessionID: req.SessionID, AccountID: req.AccountID, ErrorType: errorType, ErrorMessage: message,
	})
}

// sendLogin sends a login report. A report that cannot be sent is logged:
// the master times the session out and the user starts another.
func (a *Agent) sendLogin(ctx context.Context, typ string, payload any) {
	if err := a.send(ctx, protocol.NewMessage(typ, payload, a.now(), "")); err != nil {
		a.log.WarnContext(ctx, "sending login progress", "type", typ, "err", err)
	}
}

// loginSink relays a factory's login progress to the master.
type loginSink struct{ a *Agent }

// type check
var _ crawler.LoginSink = (*loginSink)(nil)

// QRCode implements crawler.LoginSink.
func (s *loginSink) QRCode(ctx context.Context, req crawler.LoginRequest, dataURL string) {
	s.a.sendLogin(ctx, protocol.TypeLoginQRCode, protocol.LoginQRCode{SessionID: req.SessionID, AccountID: req.AccountID, QRCodeData: dataURL})
}

// Succeeded implements crawler.LoginSink: the new jar goes to the master
// sealed with this appliance's key, as rolled credentials do.
func (s *loginSink) Succeeded(ctx context.Context, req crawler.LoginRequest, credentials []byte, user crawler.LoginUser) {
	a := s.a
	// The login's context ends with it; the report must still go out.
	ctx = context.WithoutCancel(ctx)
	defer a.endLogin(req.SessionID)
	a.mu.Lock()
	key := a.sealKey
	a.mu.Unlock()
	sealed, err := credseal.Seal(key, credentials, req.AccountID)
	if err != nil {
		a.loginFailed(ctx, req, protocol.ErrorTypeNetworkError, "sealing the credentials failed")
		return
	}
	a.log.InfoContext(ctx, "login succeeded", "login_id", req.SessionID, "account_id", req.AccountID)
	a.sendLogin(ctx, protocol.TypeLoginSuccess, protocol.LoginSuccess{
		SessionID: req.SessionID, AccountID: req.AccountID, Credentials: sealed,
		UserInfo: protocol.LoginUserInfo{Nickname: user.Nickname, UID: protocol.ID(user.UID), Avatar: user.Avatar},
	})
}

// Failed implements crawler.LoginSink.
func (s *loginSink) Failed(ctx context.Context, req crawler.LoginRequest, errorType, message string) {
	ctx = context.WithoutCancel(ctx)
	defer s.a.endLogin(req.SessionID)
	s.a.log.InfoContext(ctx, "login failed", "login_id", req.SessionID, "error_type", errorType)
	s.a.loginFailed(ctx, req, errorType, message)
}
