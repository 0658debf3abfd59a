package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Field limits.
const (
	maxIDLen       = 128
	maxNameLen     = 256
	maxUsernameLen = 64
	// maxCredentialsLen keeps a sealed cookie jar (base64 of nonce,
	// ciphertext and tag) well inside the contract's limit on one message.
	maxCredentialsLen = 64 << 10
)

// decodeJSON reads the request body as one JSON object into dst. Unknown
// fields are ignored (a newer client keeps working); anything else wrong
// is a 400 naming the problem.
func decodeJSON(c echo.Context, dst any) error {
	return decodeBody(c, dst, false)
}

// decodeOptionalJSON is decodeJSON for routes whose body may be left out.
func decodeOptionalJSON(c echo.Context, dst any) error {
	return decodeBody(c, dst, true)
}

// decodeBody decodes the request body into dst; an empty body is an error
// unless optional.
func decodeBody(c echo.Context, dst any, optional bool) error {
	dec := json.NewDecoder(c.Request().Body)
	err := dec.Decode(dst)
	if err == nil {
		// One object per body: trailing garbage means the client sent
		// something other than it thinks.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			var mb *http.MaxBytesError
			if errors.As(terr, &mb) {
				return terr
			}
			return badRequest("request body has data after the JSON object")
		}
		return nil
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mb  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mb):
		return err
	case errors.Is(err, io.EOF) && optional:
		return nil
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty; want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("request body is truncated JSON")
	case errors.As(err, &syn):
		return badRequest("request body is not valid JSON (at byte %d): %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("request body must be a JSON object, not %s", typ.Value)
		}
		return badRequest("field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	default:
		return badRequest("request body is not valid: %s", err.Error())
	}
}

// jsonKind names a Go kind the way a JSON user would.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice":
		return "an array"
	case kind == "struct", kind == "map":
		return "an object"
	default:
		return "another type"
	}
}

// pathID returns the :id path parameter after checking it looks like an id
// at all; what names nothing is the handlers' 404.
func pathID(c echo.Context, what string) (string, error) {
	id := c.Param("id")
	if err := checkID(id); err != nil {
		return "", badRequest("%s id in the path %s", what, err.Error())
	}
	return id, nil
}

// checkID checks an identifier: 1 to maxIDLen bytes of printable UTF-8
// without spaces or slashes.
func checkID(id string) error {
	switch {
	case id == "":
		return errors.New("is empty")
	case len(id) > maxIDLen:
		return fmt.Errorf("is longer than %d bytes", maxIDLen)
	case !utf8.ValidString(id):
		return errors.New("is not valid UTF-8")
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '/' {
			return fmt.Errorf("contains the character %q", r)
		}
	}
	return nil
}

// checkText checks a free-text field: valid UTF-8, no control characters,
// at most maxLen bytes; required fields must not be blank.
func checkText(field, v string, maxLen int, required bool) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return badRequest("%s is required", field)
	case len(v) > maxLen:
		return badRequest("%s is longer than %d bytes", field, maxLen)
	case !utf8.ValidString(v):
		return badRequest("%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return badRequest("%s contains a control character", field)
		}
	}
	return nil
}

// unixOrNil is an optional time as Unix seconds; nil stays JSON null.
func unixOrNil(t *time.Time) *int64 {
	if t == nil || t.IsZero() {
		return nil
	}
	s := t.Unix()
	return &s
}

// unix is a time as Unix seconds; the zero time is 0.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
