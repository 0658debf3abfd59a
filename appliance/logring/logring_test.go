package logring

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRingKeepsLastLines(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		add      int
		want     []string
	}{
		{"empty", 3, 0, []string{}},
		{"partly filled", 3, 2, []string{"l0", "l1"}},
		{"exactly full", 3, 3, []string{"l0", "l1", "l2"}},
		{"wrapped", 3, 7, []string{"l4", "l5", "l6"}},
		{"capacity one", 1, 5, []string{"l4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(tc.capacity)
			for i := range tc.add {
				r.Add(fmt.Sprintf("l%d", i))
			}
			assert.Equal(t, tc.want, r.Lines())
			assert.Equal(t, len(tc.want), r.Len())
		})
	}
}

func TestRingDefaultsAndLimits(t *testing.T) {
	r := New(0)
	for i := range DefaultCapacity + 10 {
		r.Add(fmt.Sprint(i))
	}
	assert.Equal(t, DefaultCapacity, r.Len())

	long := strings.Repeat("界", MaxLineLen) // 3 bytes each
	r.Add(long)
	lines := r.Lines()
	last := lines[len(lines)-1]
	assert.LessOrEqual(t, len(last), MaxLineLen)
	assert.True(t, strings.HasSuffix(last, "…"))
	assert.True(t, strings.HasPrefix(last, "界界"))
	assert.Equal(t, strings.ToValidUTF8(last, "?"), last, "cut must keep UTF-8 valid")
}

func TestRingWriteSplitsLines(t *testing.T) {
	r := New(10)
	n, err := r.Write([]byte("a\nb\n"))
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	assert.Equal(t, []string{"a", "b"}, r.Lines())
}

func TestIsSecretKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"token", true},
		{"auth_token", true},
		{"Password", true},
		{"setup_password_hash", true},
		{"cookie", true},
		{"cookies", true},
		{"credentials", true},
		{"Authorization", true},
		{"session_id", true},
		{"api_key", true},
		{"worker_id", false},
		{"master", false},
		{"account_id", false},
		{"msg", false},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			assert.Equal(t, tc.want, IsSecretKey(tc.key))
		})
	}
}

// fixedTime is the time of every test record.
var fixedTime = time.Date(2025, 3, 4, 5, 6, 7, 0, time.Local)

// logAt logs one record with a fixed time through h.
func logAt(t *testing.T, h slog.Handler, level slog.Level, msg string, attrs ...slog.Attr) {
	t.Helper()
	r := slog.NewRecord(fixedTime, level, msg, 0)
	r.AddAttrs(attrs...)
	require.NoError(t, h.Handle(context.Background(), r))
}

func TestHandlerFormatsAndRedacts(t *testing.T) {
	tests := []struct {
		name      string
		build     func(h slog.Handler) slog.Handler
		attrs     []slog.Attr
		wantLine  string
		forbidden []string
	}{
		{
			name:     "plain",
			attrs:    []slog.Attr{slog.String("worker_id", "tw-1"), slog.Int("accounts", 3)},
			wantLine: "2025-03-04 05:06:07 INFO connected worker_id=tw-1 accounts=3",
		},
		{
			name:      "secret keys",
			attrs:     []slog.Attr{slog.String("token", "tok-abc"), slog.String("Password", "hunter22"), slog.String("cookie", "sid=1")},
			wantLine:  "2025-03-04 05:06:07 INFO connected token=[redacted] Password=[redacted] cookie=[redacted]",
			forbidden: []string{"tok-abc", "hunter22", "sid=1"},
		},
		{
			name:      "secret inside group",
			attrs:     []slog.Attr{slog.Group("req", slog.String("auth_token", "tok-xyz"), slog.String("path", "/a"))},
			wantLine:  "2025-03-04 05:06:07 INFO connected req.auth_token=[redacted] req.path=/a",
			forbidden: []string{"tok-xyz"},
		},
		{
			name:      "group with secret name",
			attrs:     []slog.Attr{slog.Group("credentials", slog.String("user", "alice"), slog.String("jar", "j-123"))},
			wantLine:  "2025-03-04 05:06:07 INFO connected credentials.user=[redacted] credentials.jar=[redacted]",
			forbidden: []string{"alice", "j-123"},
		},
		{
			name: "with attrs",
			build: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.String("token", "pre-tok"), slog.String("c", "link")})
			},
			attrs:     []slog.Attr{slog.Int("n", 1)},
			wantLine:  "2025-03-04 05:06:07 INFO connected token=[redacted] c=link n=1",
			forbidden: []string{"pre-tok"},
		},
		{
			name:      "with secret group",
			build:     func(h slog.Handler) slog.Handler { return h.WithGroup("session_id") },
			attrs:     []slog.Attr{slog.String("value", "s-1")},
			wantLine:  "2025-03-04 05:06:07 INFO connected session_id.value=[redacted]",
			forbidden: []string{"s-1"},
		},
		{
			name:      "log valuer resolving to secret group",
			attrs:     []slog.Attr{slog.Any("login", loginValuer{})},
			wantLine:  "2025-03-04 05:06:07 INFO connected login.user=bob login.password=[redacted]",
			forbidden: []string{"pw-bob"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ring := New(10)
			var next bytes.Buffer
			var h slog.Handler = NewHandler(ring, slog.NewTextHandler(&next, nil), nil)
			if tc.build != nil {
				h = tc.build(h)
			}
			logAt(t, h, slog.LevelInfo, "connected", tc.attrs...)

			lines := ring.Lines()
			require.Len(t, lines, 1)
			assert.Equal(t, tc.wantLine, lines[0])
			assert.Contains(t, next.String(), `msg=connected`, "record must reach the next handler")
			for _, f := range tc.forbidden {
				assert.NotContains(t, lines[0], f, "ring")
				assert.NotContains(t, next.String(), f, "next handler")
			}
		})
	}
}

// loginValuer resolves to a group with a secret inside, as a type with a
// LogValue method might.
type loginValuer struct{}

// LogValue implements slog.LogValuer.
func (loginValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", "bob"), slog.String("password", "pw-bob"))
}

func TestHandlerLevels(t *testing.T) {
	ring := New(10)
	var next bytes.Buffer
	h := NewHandler(ring, slog.NewTextHandler(&next, &slog.HandlerOptions{Level: slog.LevelDebug}),
		&Options{Level: slog.LevelWarn})

	assert.True(t, h.Enabled(context.Background(), slog.LevelDebug), "next wants debug")
	logAt(t, h, slog.LevelInfo, "info only for next")
	logAt(t, h, slog.LevelWarn, "warn for both")

	assert.Equal(t, []string{"2025-03-04 05:06:07 WARN warn for both"}, ring.Lines())
	assert.Contains(t, next.String(), "info only for next")
	assert.Contains(t, next.String(), "warn for both")

	alone := NewHandler(New(1), nil, nil)
	assert.False(t, alone.Enabled(context.Background(), slog.LevelDebug))
	assert.True(t, alone.Enabled(context.Background(), slog.LevelInfo))
	logAt(t, alone, slog.LevelInfo, "no next handler")
}

func TestHandlerConcurrent(t *testing.T) {
	ring := New(50)
	logger := slog.New(NewHandler(ring, slog.DiscardHandler, nil))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			l := logger.With("g", g)
			for i := range 100 {
				l.Info("tick", "i", i, "token", "secret-value")
			}
		})
	}
	wg.Wait()
	lines := ring.Lines()
	assert.Len(t, lines, 50)
	for _, l := range lines {
		assert.Contains(t, l, "INFO tick g=")
		assert.NotContains(t, l, "secret-value")
	}
}
