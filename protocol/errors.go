package protocol

import "fmt"

// Code is a contract error code.
type Code string

// The contract's error codes, plus ERR_NOT_FOUND and ERR_UNSUPPORTED_VERSION.
const (
	ErrAuthFailed         Code = "ERR_AUTH_FAILED"
	ErrInvalidPayload     Code = "ERR_INVALID_PAYLOAD"
	ErrAccountNotFound    Code = "ERR_ACCOUNT_NOT_FOUND"
	ErrWorkerOffline      Code = "ERR_WORKER_OFFLINE"
	ErrRateLimited        Code = "ERR_RATE_LIMITED"
	ErrInternal           Code = "ERR_INTERNAL"
	ErrNotFound           Code = "ERR_NOT_FOUND"
	ErrUnsupportedVersion Code = "ERR_UNSUPPORTED_VERSION"
)

// Error is a protocol failure with a contract code and a human-readable
// message; it becomes the payload of a "{type}:error" envelope.
type Error struct {
	Code    Code
	Message string
	Details map[string]any
}

// Error implements the error interface.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorPayload is the payload of a "{original_type}:error" envelope.
type ErrorPayload struct {
	Success      bool           `json:"success"`
	ErrorCode    Code           `json:"error_code"`
	ErrorMessage string         `json:"error_message"`
	Details      map[string]any `json:"details"`
}

// Payload returns the wire form of e.
func (e *Error) Payload() ErrorPayload {
	d := e.Details
	if d == nil {
		d = map[string]any{}
	}
	return ErrorPayload{Success: false, ErrorCode: e.Code, ErrorMessage: e.Message, Details: d}
}

// ErrorType returns the type of the error envelope answering originalType.
func ErrorType(originalType string) string {
	if originalType == "" {
		originalType = "unknown"
	}
	return originalType + ":error"
}
