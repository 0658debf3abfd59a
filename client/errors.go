package client

import (
	"errors"
	"fmt"

	"github.com/tidewatch/tidewatch/protocol"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrUnauthorized means the master refused the session token (missing,
	// invalid, expired or of a deleted user), over REST or in
	// client:connect. Logging in again is the fix; retrying is not.
	ErrUnauthorized = errors.New("the server refused the session token")
	// ErrForbidden means the user is logged in but may not do this (e.g. a
	// non-admin listing workers).
	ErrForbidden = errors.New("this needs an admin")
	// ErrNotConnected means a call needed a connection that is closed.
	ErrNotConnected = errors.New("not connected")
)

// UnreachableError says the master could not be reached at all: nothing
// listening, a DNS failure, a timeout. It names the URL so the user can spot
// a typo.
type UnreachableError struct {
	// URL is the server URL that was tried.
	URL string
	// Err is the underlying network error.
	Err error
}

// Error implements error.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the server at %s: %v", e.URL, e.Err)
}

// Unwrap returns the network error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// APIError is an error answer of the REST API.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the error code, e.g. ERR_AUTH_FAILED.
	Code protocol.Code
	// Message is the server's human-readable message.
	Message string
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered %d %s", e.Status, e.Code)
	}
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
}

// Is makes 401 match ErrUnauthorized and 403 match ErrForbidden.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == 401
	case ErrForbidden:
		return e.Status == 403
	}
	return false
}

// ProtocolError is a "{type}:error" answer on the socket.
type ProtocolError struct {
	// Type is the type of the request that failed, e.g. client:connect.
	Type string
	// Code is the contract's error code.
	Code protocol.Code
	// Message is the master's human-readable message.
	Message string
}

// Error implements error.
func (e *ProtocolError) Error() string {
	return fmt.Sprintf("%s refused: %s: %s", e.Type, e.Code, e.Message)
}

// Is makes an ERR_AUTH_FAILED answer match ErrUnauthorized.
func (e *ProtocolError) Is(target error) bool {
	return target == ErrUnauthorized && e.Code == protocol.ErrAuthFailed
}

// permanent reports whether reconnecting cannot fix err: the token or the
// protocol version was refused.
func permanent(err error) bool {
	if errors.Is(err, ErrUnauthorized) {
		return true
	}
	var pe *ProtocolError
	return errors.As(err, &pe) && pe.Code == protocol.ErrUnsupportedVersion
}
