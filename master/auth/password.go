package auth

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLength is the shortest password HashPassword accepts.
const MinPasswordLength = 8

// DefaultBcryptCost is the bcrypt cost HashPassword uses.
const DefaultBcryptCost = bcrypt.DefaultCost

// ErrPasswordTooShort is returned by HashPassword for passwords shorter than
// MinPasswordLength bytes.
var ErrPasswordTooShort = errors.New("auth: password must be at least 8 characters")

// ErrPasswordTooLong is returned for passwords longer than bcrypt's 72-byte
// limit, which bcrypt would otherwise silently reject.
var ErrPasswordTooLong = errors.New("auth: password must be at most 72 bytes")

// HashPassword hashes pw with bcrypt at DefaultBcryptCost.
func HashPassword(pw string) (string, error) {
	return HashPasswordCost(pw, DefaultBcryptCost)
}

// HashPasswordCost hashes pw with bcrypt at the given cost (tests use
// bcrypt.MinCost to stay fast).
func HashPasswordCost(pw string, cost int) (string, error) {
	if len(pw) < MinPasswordLength {
		return "", ErrPasswordTooShort
	}
	if len(pw) > 72 {
		return "", ErrPasswordTooLong
	}

	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}

	return string(h), nil
}

// CheckPassword reports whether pw matches the bcrypt hash. A malformed hash
// never matches.
func CheckPassword(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}
