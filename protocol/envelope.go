package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// Version is the protocol version this code speaks.
const Version = "v1"

// MaxMessageBytes bounds one encoded envelope. It sits well below Socket.IO's
// own 1 MB buffer, past which the library drops the whole connection; a
// message over this gets an error and the connection stays up.
const MaxMessageBytes = 256 << 10

// versionRE accepts "v1" and minor versions such as "v1.1" or "v1.0.3": a
// v1.x peer speaks a superset of v1 whose additions are optional fields.
var versionRE = regexp.MustCompile(`^v1(\.[0-9]{1,4}){0,2}$`)

// CheckVersion reports whether v is a version this side can speak.
func CheckVersion(v string) *Error {
	if versionRE.MatchString(v) {
		return nil
	}
	return Errorf(ErrUnsupportedVersion, "version %q is not supported; this side speaks %s", v, Version)
}

// Envelope is the message every event travels in. Payload stays raw until
// the receiver knows which type to decode it into.
type Envelope struct {
	Type      string          `json:"type"`
	Version   string          `json:"version"`
	Payload   json.RawMessage `json:"payload"`
	Timestamp Timestamp       `json:"timestamp"`
	RequestID string          `json:"requestId,omitempty"`
}

// rawEnvelope lets DecodeEnvelope tell a missing field from a zero one.
type rawEnvelope struct {
	Type      *string         `json:"type"`
	Version   *string         `json:"version"`
	Payload   json.RawMessage `json:"payload"`
	Timestamp *Timestamp      `json:"timestamp"`
	RequestID *ID             `json:"requestId"`
}

// DecodeEnvelope parses and checks an envelope: a JSON object with a string
// type, a supported version, an object payload and a numeric timestamp. On
// failure the returned envelope still carries whatever type and requestId
// could be read, so the error can answer under "{type}:error".
func DecodeEnvelope(data []byte) (Envelope, *Error) {
	var env Envelope
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return env, Errorf(ErrInvalidPayload, "message must be a JSON object")
	}
	if len(data) > MaxMessageBytes {
		salvage(trimmed, &env)
		return env, Errorf(ErrInvalidPayload, "message is %d bytes; the limit is %d", len(data), MaxMessageBytes)
	}
	var raw rawEnvelope
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		salvage(trimmed, &env)
		return env, Errorf(ErrInvalidPayload, "message is not a valid envelope: %s", jsonReason(err))
	}
	if raw.RequestID != nil {
		env.RequestID = string(*raw.RequestID)
	}
	if raw.Type == nil || *raw.Type == "" {
		return env, Errorf(ErrInvalidPayload, "type is required")
	}
	env.Type = *raw.Type
	if len(env.Type) > 64 {
		env.Type = env.Type[:64]
		return env, Errorf(ErrInvalidPayload, "type is longer than 64 characters")
	}
	if raw.Version == nil {
		return env, Errorf(ErrInvalidPayload, "version is required")
	}
	if err := CheckVersion(*raw.Version); err != nil {
		return env, err
	}
	env.Version = *raw.Version
	if raw.Timestamp == nil {
		return env, Errorf(ErrInvalidPayload, "timestamp is required")
	}
	env.Timestamp = *raw.Timestamp
	p := bytes.TrimSpace(raw.Payload)
	if len(p) == 0 || p[0] != '{' {
		return env, Errorf(ErrInvalidPayload, "payload must be a JSON object")
	}
	env.Payload = p
	return env, nil
}

// salvage reads type and requestId from a message that failed decoding, so
// the error reply can still answer under "{type}:error".
func salvage(data []byte, env *Envelope) {
	var partial struct {
		Type      any `json:"type"`
		RequestID any `json:"requestId"`
	}
	if json.Unmarshal(data, &partial) != nil {
		return
	}
	if s, ok := partial.Type.(string); ok && len(s) <= 64 {
		env.Type = s
	}
	if s, ok := partial.RequestID.(string); ok && len(s) <= 128 {
		env.RequestID = s
	}
}

// Validator is a payload that can check its own fields.
type Validator interface {
	Validate() error
}

// DecodePayload decodes env's payload into T and validates it. Unknown fields
// are ignored so newer peers keep working.
func DecodePayload[T any, PT interface {
	*T
	Validator
}](env Envelope) (T, *Error) {
	var v T
	return v, decodeInto(env, PT(&v))
}

// decodeInto decodes env's payload into p and validates it.
func decodeInto(env Envelope, p Validator) *Error {
	if err := json.Unmarshal(env.Payload, p); err != nil {
		return Errorf(ErrInvalidPayload, "%s payload: %s", env.Type, jsonReason(err))
	}
	if err := p.Validate(); err != nil {
		return Errorf(ErrInvalidPayload, "%s payload: %s", env.Type, err.Error())
	}
	return nil
}

// jsonReason turns a decoding error into a message naming the field.
func jsonReason(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok && te.Field != "" {
		return fmt.Sprintf("%s must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	return err.Error()
}

// jsonKind names a Go kind the way a JSON author thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "float64", "float32", "uint", "uint64":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	default:
		return kind
	}
}

// Message is an outgoing envelope whose payload is still a Go value.
type Message struct {
	Type      string    `json:"type"`
	Version   string    `json:"version"`
	Payload   any       `json:"payload"`
	Timestamp Timestamp `json:"timestamp"`
	RequestID string    `json:"requestId,omitempty"`
}

// NewMessage builds an outgoing envelope stamped with now.
func NewMessage(typ string, payload any, now time.Time, requestID string) Message {
	return Message{Type: typ, Version: Version, Payload: payload, Timestamp: TimestampOf(now), RequestID: requestID}
}

// NewErrorMessage builds the "{originalType}:error" envelope for e.
func NewErrorMessage(originalType string, e *Error, now time.Time, requestID string) Message {
	return NewMessage(ErrorType(originalType), e.Payload(), now, requestID)
}
