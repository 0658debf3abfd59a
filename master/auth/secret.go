package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// workerSecretPrefix starts every appliance enrollment secret, so leaked
// secrets are easy to recognise (and to scan for).
const workerSecretPrefix = "twk_"

// workerSecretRandomLen is the length of the random part: 32 bytes in
// unpadded base64url.
const workerSecretRandomLen = 43

// ErrMalformedSecret is returned by ParseWorkerSecret for strings that are
// not enrollment secrets.
var ErrMalformedSecret = errors.New("auth: malformed worker secret")

// NewWorkerSecret returns a new enrollment secret for the token with the
// given id: "twk_<id>_<43 chars base64url of 32 random bytes>". The id must
// not contain '_' (ParseWorkerSecret could not find it again).
func NewWorkerSecret(id string) string {
	b := make([]byte, 32)
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(b)

	return workerSecretPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(b)
}

// ParseWorkerSecret returns the token id embedded in an enrollment secret.
// It checks the format only; the secret itself is verified against the
// stored hash.
func ParseWorkerSecret(secret string) (string, error) {
	rest, ok := strings.CutPrefix(secret, workerSecretPrefix)
	// The random part may itself contain '_', so split from the end.
	if !ok || len(rest) < workerSecretRandomLen+2 {
		return "", ErrMalformedSecret
	}

	cut := len(rest) - workerSecretRandomLen - 1
	id, random := rest[:cut], rest[cut+1:]
	if rest[cut] != '_' || id == "" || strings.ContainsRune(id, '_') {
		return "", ErrMalformedSecret
	}

	if raw, err := base64.RawURLEncoding.Strict().DecodeString(random); err != nil || len(raw) != 32 {
		return "", ErrMalformedSecret
	}

	return id, nil
}

// HashSecret returns the SHA-256 of secret, the only form in which the
// master stores it. A fast hash is enough: the secret has 256 random bits.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))

	return h[:]
}

// EqualHash compares two hashes in constant time.
func EqualHash(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}
