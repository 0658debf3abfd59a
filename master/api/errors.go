package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
)

// Error codes. Where the contract has a code it is reused; the rest exist
// only in the REST API.
const (
	codeAuthFailed      = protocol.ErrAuthFailed
	codeInvalid         = protocol.ErrInvalidPayload
	codeAccountNotFound = protocol.ErrAccountNotFound
	codeNotFound        = protocol.ErrNotFound
	codeWorkerOffline   = protocol.ErrWorkerOffline
	codeRateLimited     = protocol.ErrRateLimited
	codeInternal        = protocol.ErrInternal

	codeForbidden        protocol.Code = "ERR_FORBIDDEN"
	codeConflict         protocol.Code = "ERR_CONFLICT"
	codeTooLarge         protocol.Code = "ERR_PAYLOAD_TOO_LARGE"
	codeMethodNotAllowed protocol.Code = "ERR_METHOD_NOT_ALLOWED"
	codeUnavailable      protocol.Code = "ERR_UNAVAILABLE"
)

// httpError is an error with the status and code it is answered with. Its
// message is shown to the caller, so it never carries internals or secrets.
type httpError struct {
	status int
	code   protocol.Code
	msg    string
	// retryAfter, when positive, is sent as the Retry-After header
	// (seconds).
	retryAfter int
}

// Error implements error.
func (e *httpError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg) }

// errorf returns an httpError with a formatted message.
func errorf(status int, code protocol.Code, format string, args ...any) *httpError {
	return &httpError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// badRequest is the common 400.
func badRequest(format string, args ...any) *httpError {
	return errorf(http.StatusBadRequest, codeInvalid, format, args...)
}

// unauthorized is the 401 of a missing, invalid or expired token.
func unauthorized() *httpError {
	return errorf(http.StatusUnauthorized, codeAuthFailed, "a valid bearer token is required")
}

// forbidden is the 403 of a non-admin on an admin route.
func forbidden() *httpError {
	return errorf(http.StatusForbidden, codeForbidden, "this needs an admin")
}

// accountNotFound is the 404 of an account that does not exist or that the
// caller may not see: the two are indistinguishable on purpose.
func accountNotFound() *httpError {
	return errorf(http.StatusNotFound, codeAccountNotFound, "no such account")
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

// errorDetail is the inside of errorBody.
type errorDetail struct {
	Code    protocol.Code `json:"code"`
	Message string        `json:"message"`
}

// toHTTPError classifies any error a handler, echo or the store returned.
// Anything unrecognised is a 500 whose cause is logged, not shown.
func toHTTPError(err error) (he *httpError, internal bool) {
	var (
		ours *httpError
		eh   *echo.HTTPError
		mb   *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ours):
		return ours, false
	case errors.As(err, &mb):
		return errorf(http.StatusRequestEntityTooLarge, codeTooLarge,
			"request body is larger than %d bytes", mb.Limit), false
	case errors.As(err, &eh):
		return fromEcho(eh), false
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, codeNotFound, "not found"), false
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, codeConflict, "already exists"), false
	case errors.Is(err, store.ErrInvalid):
		return badRequest("invalid argument"), false
	default:
		return errorf(http.StatusInternalServerError, codeInternal, "internal error"), true
	}
}

// fromEcho maps echo's own errors (unknown route, wrong method) to ours.
func fromEcho(eh *echo.HTTPError) *httpError {
	msg := http.StatusText(eh.Code)
	if m, ok := eh.Message.(string); ok && m != "" {
		msg = m
	}
	code := codeInternal
	switch {
	case eh.Code == http.StatusNotFound:
		code = codeNotFound
	case eh.Code == http.StatusMethodNotAllowed:
		code = codeMethodNotAllowed
	case eh.Code == http.StatusRequestEntityTooLarge:
		code = codeTooLarge
	case eh.Code == http.StatusUnauthorized:
		code = codeAuthFailed
	case eh.Code == http.StatusForbidden:
		code = codeForbidden
	case eh.Code == http.StatusTooManyRequests:
		code = codeRateLimited
	case eh.Code < http.StatusInternalServerError:
		code = codeInvalid
	}
	return &httpError{status: eh.Code, code: code, msg: msg}
}

// renderError is the one place errors become responses. It is installed as
// echo's HTTPErrorHandler.
func (a *api) renderError(err error, c echo.Context) {
	he, internal := toHTTPError(err)
	req := c.Request()
	if internal {
		a.log.ErrorContext(req.Context(), "request failed", "method", req.Method, "path", c.Path(), "err", err)
	}
	if c.Response().Committed {
		return
	}
	if he.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(he.retryAfter))
	}
	if he.status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="tidewatch"`)
	}
	body := errorBody{Error: errorDetail{Code: he.code, Message: he.msg}}
	var werr error
	if req.Method == http.MethodHead {
		werr = c.NoContent(he.status)
	} else {
		werr = c.JSON(he.status, body)
	}
	if werr != nil {
		a.log.DebugContext(req.Context(), "writing error response", "err", werr)
	}
}
