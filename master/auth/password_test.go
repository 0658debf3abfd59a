package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	tests := []struct {
		name    string
		pw      string
		wantErr error
	}{
		{name: "ok", pw: "correct horse"},
		{name: "exactly 8", pw: "12345678"},
		{name: "unicode", pw: "密码密码密码"},
		{name: "too short", pw: "1234567", wantErr: ErrPasswordTooShort},
		{name: "empty", pw: "", wantErr: ErrPasswordTooShort},
		{name: "too long", pw: strings.Repeat("x", 73), wantErr: ErrPasswordTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := HashPasswordCost(tc.pw, bcrypt.MinCost)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				assert.Empty(t, h)

				return
			}
			require.NoError(t, err)
			assert.NotContains(t, h, tc.pw)
			assert.True(t, CheckPassword(h, tc.pw))
			assert.False(t, CheckPassword(h, tc.pw+"x"))
			assert.False(t, CheckPassword(h, ""))
		})
	}

	h, err := HashPassword("default cost")
	require.NoError(t, err)
	cost, err := bcrypt.Cost([]byte(h))
	require.NoError(t, err)
	assert.Equal(t, DefaultBcryptCost, cost)

	assert.False(t, CheckPassword("not a hash", "whatever1"))
	assert.False(t, CheckPassword("", ""))
}
