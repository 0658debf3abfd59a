package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIssuer(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	iss := NewIssuer(key, time.Hour, clock)

	tok, exp, err := iss.Issue("usr-1", true)
	require.NoError(t, err)
	assert.Equal(t, now.Add(time.Hour), exp)

	c, err := iss.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, Claims{UserID: "usr-1", Admin: true, ExpiresAt: exp}, c)

	userTok, _, err := iss.Issue("usr-2", false)
	require.NoError(t, err)
	c, err = iss.Verify(userTok)
	require.NoError(t, err)
	assert.False(t, c.Admin)

	_, _, err = iss.Issue("", false)
	assert.Error(t, err)

	sign := func(method jwt.SigningMethod, k any, claims jwt.Claims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(k)
		require.NoError(t, err)

		return s
	}
	valid := jwt.RegisteredClaims{
		Issuer: IssuerName, Subject: "usr-1", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}
	wrongIssuer := valid
	wrongIssuer.Issuer = "someone-else"
	noExp := valid
	noExp.ExpiresAt = nil
	noSub := valid
	noSub.Subject = ""
	parts := strings.Split(tok, ".")

	later := NewIssuer(key, time.Hour, func() time.Time { return now.Add(2 * time.Hour) })
	otherKey := NewIssuer([]byte("another key another key another!!"), time.Hour, clock)

	tests := []struct {
		name  string
		iss   *Issuer
		token string
	}{
		{name: "expired", iss: later, token: tok},
		{name: "other key", iss: otherKey, token: tok},
		{name: "alg none", iss: iss, token: sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid)},
		{name: "HS512", iss: iss, token: sign(jwt.SigningMethodHS512, key, valid)},
		{name: "wrong issuer", iss: iss, token: sign(jwt.SigningMethodHS256, key, wrongIssuer)},
		{name: "no expiry", iss: iss, token: sign(jwt.SigningMethodHS256, key, noExp)},
		{name: "no subject", iss: iss, token: sign(jwt.SigningMethodHS256, key, noSub)},
		{name: "tampered payload", iss: iss, token: parts[0] + "." + parts[1] + "x." + parts[2]},
		{name: "empty", iss: iss, token: ""},
		{name: "garbage", iss: iss, token: "a.b.c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.iss.Verify(tc.token)
			assert.ErrorIs(t, err, ErrInvalidToken)
		})
	}

	// Defaults.
	d := NewIssuer(key, 0, nil)
	_, exp, err = d.Issue("usr-1", false)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(DefaultTokenTTL), exp, time.Minute)
}
