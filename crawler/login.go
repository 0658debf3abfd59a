package crawler

import (
	"context"
	"time"
)

// LoginRequest asks for a QR login on a fresh browser context.
type LoginRequest struct {
	// SessionID is the master's login session id.
	SessionID string
	// AccountID is the master's account id.
	AccountID string
	// Timeout bounds the wait for a scan; the platform's page gives up
	// after five minutes.
	Timeout time.Duration
}

// LoginUser describes the platform user who logged in.
type LoginUser struct {
	Nickname string
	UID      string
	Avatar   string
}

// LoginSink receives a login's progress. Exactly one of Succeeded and
// Failed is called, last.
type LoginSink interface {
	// QRCode hands over the current QR image as a data URL; it is called
	// again each time the page rotates the code.
	QRCode(ctx context.Context, req LoginRequest, dataURL string)
	// Succeeded hands over the new credential blob.
	Succeeded(ctx context.Context, req LoginRequest, credentials []byte, user LoginUser)
	// Failed reports why the login ended without credentials: one of the
	// protocol.LoginError* kinds or a protocol.ErrorType*.
	Failed(ctx context.Context, req LoginRequest, errorType, message string)
}

// LoginFactory is a Factory that can also log accounts in by QR code.
type LoginFactory interface {
	Factory
	// Login starts a QR login and returns at once; it runs until it
	// succeeds, fails, times out or ctx is cancelled (a cancelled login
	// reports nothing).
	Login(ctx context.Context, req LoginRequest, sink LoginSink) error
}
