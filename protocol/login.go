package protocol

import "strings"

// Login session states, as master:login:update and the REST API report them.
const (
	LoginStatusPending   = "pending"   // asked an appliance; no QR yet
	LoginStatusQRReady   = "qr_ready"  // a QR is waiting to be scanned
	LoginStatusSucceeded = "succeeded" // credentials stored, account active
	LoginStatusFailed    = "failed"    // refused, timed out or broke
	LoginStatusCancelled = "cancelled" // the user gave up
)

// LoginStart is the payload of master:login:start (extension): the master
// asks an appliance to open a fresh login page for an account.
type LoginStart struct {
	AccountID string `json:"account_id"`
	SessionID string `json:"session_id"`
	Platform  string `json:"platform"`
	// TimeoutSeconds is how long the appliance waits for a scan.
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
}

// LoginCancel is the payload of master:login:cancel (extension).
type LoginCancel struct {
	SessionID string `json:"session_id"`
	AccountID string `json:"account_id"`
}

// LoginQRCode is the payload of worker:login:qrcode (extension), sent again
// every time the page rotates its code.
type LoginQRCode struct {
	SessionID string `json:"session_id"`
	AccountID string `json:"account_id"`
	// QRCodeData is the QR image as a data URL (data:image/png;base64,…).
	QRCodeData string `json:"qr_code_data"`
}

// LoginUserInfo describes the platform user who logged in.
type LoginUserInfo struct {
	Nickname string `json:"nickname"`
	UID      ID     `json:"uid"`
	Avatar   string `json:"avatar,omitempty"`
}

// LoginSuccess is the payload of worker:login:success (extension).
type LoginSuccess struct {
	SessionID string `json:"session_id"`
	AccountID string `json:"account_id"`
	// Credentials is the new cookie jar, sealed like assigned credentials.
	Credentials string        `json:"credentials"`
	UserInfo    LoginUserInfo `json:"user_info"`
}

// LoginFailed is the payload of worker:login:failed (extension).
type LoginFailed struct {
	SessionID    string `json:"session_id"`
	AccountID    string `json:"account_id"`
	ErrorType    string `json:"error_type"`
	ErrorMessage string `json:"error_message"`
}

// Login failure kinds, in worker:login:failed's error_type.
const (
	LoginErrorTimeout = "timeout"
	LoginErrorRefused = "refused"
	LoginErrorExpired = "expired"
	// Also the worker:error types: auth_failed, network_error, rate_limited.
)

// LoginUpdate is the payload of master:login:update (extension), pushed to
// the account's users as a login progresses.
type LoginUpdate struct {
	SessionID    string         `json:"session_id"`
	AccountID    string         `json:"account_id"`
	Status       string         `json:"status"`
	QRCodeData   string         `json:"qr_code_data,omitempty"`
	ErrorType    string         `json:"error_type,omitempty"`
	ErrorMessage string         `json:"error_message,omitempty"`
	UserInfo     *LoginUserInfo `json:"user_info,omitempty"`
}

// maxQRLen bounds a QR data URL; real ones are a few kilobytes.
const maxQRLen = 64 << 10

// Validate implements Validator.
func (p *LoginStart) Validate() error {
	var c checker
	c.required("account_id", p.AccountID, maxIDLen)
	c.required("session_id", p.SessionID, maxIDLen)
	c.between("timeout_seconds", p.TimeoutSeconds, 0, 3600)
	return c.err
}

// Validate implements Validator.
func (p *LoginCancel) Validate() error {
	var c checker
	c.required("session_id", p.SessionID, maxIDLen)
	c.optional("account_id", p.AccountID, maxIDLen)
	return c.err
}

// Validate implements Validator.
func (p *LoginQRCode) Validate() error {
	var c checker
	c.required("session_id", p.SessionID, maxIDLen)
	c.required("account_id", p.AccountID, maxIDLen)
	c.required("qr_code_data", p.QRCodeData, maxQRLen)
	if c.err == nil && !strings.HasPrefix(p.QRCodeData, "data:image/") {
		c.fail("qr_code_data must be a data:image/… URL")
	}
	return c.err
}

// Validate implements Validator.
func (p *LoginSuccess) Validate() error {
	var c checker
	c.required("session_id", p.SessionID, maxIDLen)
	c.required("account_id", p.AccountID, maxIDLen)
	c.required("credentials", p.Credentials, maxSealedLen)
	c.optional("user_info.nickname", p.UserInfo.Nickname, maxNameLen)
	c.optional("user_info.uid", string(p.UserInfo.UID), maxIDLen)
	c.optional("user_info.avatar", p.UserInfo.Avatar, maxContentLen)
	return c.err
}

// Validate implements Validator.
func (p *LoginFailed) Validate() error {
	var c checker
	c.required("session_id", p.SessionID, maxIDLen)
	c.required("account_id", p.AccountID, maxIDLen)
	c.required("error_type", p.ErrorType, maxIDLen)
	c.optional("error_message", p.ErrorMessage, maxContentLen)
	return c.err
}

// Validate implements Validator.
func (p *LoginUpdate) Validate() error {
	var c checker
	c.required("session_id", p.SessionID, maxIDLen)
	c.oneOf("status", p.Status, LoginStatusPending, LoginStatusQRReady, LoginStatusSucceeded, LoginStatusFailed, LoginStatusCancelled)
	return c.err
}
