package logring

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Redacted replaces the value of every attribute whose key looks secret.
const Redacted = "[redacted]"

// secretKeyParts are the key fragments that mark a value as secret. Matching
// is by substring on the lower-cased key, so "auth_token", "SetupPassword" and
// "cookie_jar" all match; a false positive only hides a value on the page.
var secretKeyParts = []string{
	"token",
	"password",
	"passwd",
	"secret",
	"cookie",
	"credential",
	"authorization",
	"session_id",
	"sessionid",
	"api_key",
	"apikey",
	"private_key",
}

// IsSecretKey reports whether an attribute with this key must not be shown.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, part := range secretKeyParts {
		if strings.Contains(k, part) {
			return true
		}
	}
	return false
}

// Options configure a [Handler].
type Options struct {
	// Level is the lowest level kept in the ring; nil means slog.LevelInfo.
	// It does not change what the next handler receives.
	Level slog.Leveler
}

// formatter renders records into lines. It is shared by a handler and every
// handler derived from it with WithAttrs or WithGroup, because they all write
// into the same buffer.
type formatter struct {
	// mu serialises use of buf.
	mu sync.Mutex
	// buf receives the attribute text of one record at a time.
	buf bytes.Buffer
}

// Handler is a slog.Handler that keeps every record of at least its level as
// one line in a [Ring] and passes the record on to another handler. Values of
// attributes whose key looks secret (see [IsSecretKey]) are replaced by
// [Redacted] in both places. It is safe for concurrent use.
type Handler struct {
	ring  *Ring
	next  slog.Handler
	level slog.Leveler
	fmt   *formatter
	// attrs renders the record's attributes (and those added by WithAttrs
	// and WithGroup) in text form into fmt.buf.
	attrs slog.Handler
	// inSecretGroup is set once WithGroup opened a group with a secret name:
	// every later attribute is then redacted for the next handler.
	inSecretGroup bool
}

// type check
var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a handler that records into ring and passes records on
// to next. next may be nil: then records only go into the ring.
func NewHandler(ring *Ring, next slog.Handler, opts *Options) *Handler {
	level := slog.Leveler(slog.LevelInfo)
	if opts != nil && opts.Level != nil {
		level = opts.Level
	}
	f := &formatter{}
	return &Handler{
		ring:  ring,
		next:  next,
		level: level,
		fmt:   f,
		attrs: slog.NewTextHandler(&f.buf, &slog.HandlerOptions{
			Level:       slog.LevelDebug,
			ReplaceAttr: replaceAttr,
		}),
	}
}

// replaceAttr drops the built-in time, level and message (Handle writes them
// in a friendlier form) and redacts secret values, including everything
// inside a group whose name looks secret.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.TimeKey, slog.LevelKey, slog.MessageKey:
			return slog.Attr{}
		}
	}
	if IsSecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	for _, g := range groups {
		if IsSecretKey(g) {
			return slog.String(a.Key, Redacted)
		}
	}
	return a
}

// Enabled reports whether either the ring or the next handler wants level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	if level >= h.level.Level() {
		return true
	}
	return h.next != nil && h.next.Enabled(ctx, level)
}

// Handle records r in the ring (when its level is high enough) and passes a
// redacted copy to the next handler (when that one is enabled for it).
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	if r.Level >= h.level.Level() {
		if err := h.record(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool {
			nr.AddAttrs(redact(a, h.inSecretGroup))
			return true
		})
		if err := h.next.Handle(ctx, nr); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// record formats r as "2006-01-02 15:04:05 LEVEL message key=value ..." and
// adds it to the ring.
func (h *Handler) record(ctx context.Context, r slog.Record) error {
	h.fmt.mu.Lock()
	defer h.fmt.mu.Unlock()
	h.fmt.buf.Reset()
	if err := h.attrs.Handle(ctx, r); err != nil {
		return err
	}
	attrs := strings.TrimSpace(h.fmt.buf.String())

	var line strings.Builder
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	line.WriteString(t.Format(time.DateTime))
	line.WriteByte(' ')
	line.WriteString(r.Level.String())
	line.WriteByte(' ')
	line.WriteString(r.Message)
	if attrs != "" {
		line.WriteByte(' ')
		line.WriteString(attrs)
	}
	h.ring.Add(line.String())
	return nil
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	cp := *h
	cp.attrs = h.attrs.WithAttrs(attrs)
	if h.next != nil {
		red := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			red[i] = redact(a, h.inSecretGroup)
		}
		cp.next = h.next.WithAttrs(red)
	}
	return &cp
}

// WithGroup returns a handler that puts later attributes in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	cp := *h
	cp.attrs = h.attrs.WithGroup(name)
	if h.next != nil {
		cp.next = h.next.WithGroup(name)
	}
	cp.inSecretGroup = h.inSecretGroup || IsSecretKey(name)
	return &cp
}

// redact returns a with its value replaced by [Redacted] when its key looks
// secret (or all is set), recursing into groups.
func redact(a slog.Attr, all bool) slog.Attr {
	if all || IsSecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	v := a.Value.Resolve()
	if v.Kind() != slog.KindGroup {
		return slog.Attr{Key: a.Key, Value: v}
	}
	group := v.Group()
	out := make([]slog.Attr, len(group))
	for i, ga := range group {
		out[i] = redact(ga, false)
	}
	return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
}
