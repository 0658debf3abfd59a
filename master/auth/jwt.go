package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// IssuerName is the "iss" claim of every token this package issues and
// accepts.
const IssuerName = "tidewatch"

// DefaultTokenTTL is a sensible session token lifetime.
const DefaultTokenTTL = 24 * time.Hour

// MinKeySize is the smallest HMAC key NewIssuer should be given.
const MinKeySize = 32

// ErrInvalidToken is returned by Verify for any token that does not verify:
// bad signature, wrong algorithm, expired, wrong issuer, malformed.
var ErrInvalidToken = errors.New("auth: invalid token")

// Claims is what a verified session token says.
type Claims struct {
	UserID    string
	Admin     bool
	ExpiresAt time.Time
}

// tokenClaims is the JWT body.
type tokenClaims struct {
	jwt.RegisteredClaims

	// Admin carries the user's admin flag at issue time.
	Admin bool `json:"adm,omitempty"`
}

// Issuer issues and verifies HS256 session tokens. It is safe for
// concurrent use.
type Issuer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewIssuer returns a token issuer signing with key, issuing tokens valid for
// ttl (DefaultTokenTTL if not positive), reading time from now (time.Now if
// nil).
func NewIssuer(key []byte, ttl time.Duration, now func() time.Time) *Issuer {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	if now == nil {
		now = time.Now
	}

	return &Issuer{key: append([]byte(nil), key...), ttl: ttl, now: now}
}

// Issue returns a signed token for the user and its expiry.
func (i *Issuer) Issue(userID string, admin bool) (string, time.Time, error) {
	if userID == "" {
		return "", time.Time{}, errors.New("auth: empty user id")
	}

	now := i.now()
	exp := now.Add(i.ttl).Truncate(time.Second).UTC()
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    IssuerName,
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Admin: admin,
	}

	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(i.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing token: %w", err)
	}

	return tok, exp, nil
}

// Verify checks the token's signature (HS256 only), issuer and expiry and
// returns its claims. Every failure wraps ErrInvalidToken.
func (i *Issuer) Verify(token string) (Claims, error) {
	var c tokenClaims
	_, err := jwt.ParseWithClaims(token, &c,
		func(*jwt.Token) (any, error) { return i.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(IssuerName),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(i.now),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if c.Subject == "" {
		return Claims{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}

	return Claims{UserID: c.Subject, Admin: c.Admin, ExpiresAt: c.ExpiresAt.UTC()}, nil
}
