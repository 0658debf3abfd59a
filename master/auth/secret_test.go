package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWorkerSecret(t *testing.T) {
	s := NewWorkerSecret("wtk-0123abcd")
	assert.Regexp(t, `^twk_wtk-0123abcd_[A-Za-z0-9_-]{43}$`, s)
	assert.NotEqual(t, s, NewWorkerSecret("wtk-0123abcd"))

	id, err := ParseWorkerSecret(s)
	require.NoError(t, err)
	assert.Equal(t, "wtk-0123abcd", id)

	// A random part full of '_' still parses to the right id.
	underscores := "twk_wtk-1_" + strings.Repeat("_", 42) + "8"
	id, err = ParseWorkerSecret(underscores)
	require.NoError(t, err)
	assert.Equal(t, "wtk-1", id)

	random := s[len(s)-43:]
	tests := []struct {
		name   string
		secret string
	}{
		{name: "empty", secret: ""},
		{name: "no prefix", secret: "wtk-1_" + random},
		{name: "no id", secret: "twk__" + random},
		{name: "short random", secret: "twk_wtk-1_" + random[1:]},
		{name: "long random", secret: "twk_wtk-1_" + random + "A"},
		{name: "bad base64", secret: "twk_wtk-1_" + strings.Repeat("*", 43)},
		{name: "id with underscore", secret: "twk_wtk_1_" + random},
		{name: "missing separator", secret: "twk_wtk-1" + random},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWorkerSecret(tc.secret)
			assert.ErrorIs(t, err, ErrMalformedSecret)
		})
	}
}

func TestHashSecret(t *testing.T) {
	a, b := NewWorkerSecret("wtk-1"), NewWorkerSecret("wtk-1")
	ha := HashSecret(a)
	assert.Len(t, ha, 32)
	assert.Equal(t, ha, HashSecret(a))

	tests := []struct {
		name string
		x, y []byte
		want bool
	}{
		{name: "same", x: ha, y: HashSecret(a), want: true},
		{name: "different", x: ha, y: HashSecret(b), want: false},
		{name: "length", x: ha, y: ha[:31], want: false},
		{name: "nil", x: ha, y: nil, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, EqualHash(tc.x, tc.y))
		})
	}
}
