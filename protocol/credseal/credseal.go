// Package credseal seals account credentials (the Douyin cookie jar) for
// transport between the master and an appliance, and for storage at rest on
// the master.
//
// A sealed value is the compact string "v1.<base64url(nonce|ciphertext)>":
// AES-256-GCM with a random 96-bit nonce. The additional authenticated data
// binds the value to one account id, so a blob sealed for one account cannot
// be replayed onto another. The package is pure: no I/O besides reading
// randomness.
package credseal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size in bytes of a sealing key (AES-256).
const KeySize = 32

// prefix marks the version of the sealed format.
const prefix = "v1."

// hkdfSalt and hkdfInfo fix the key derivation so that the master and the
// appliance derive the same key from the same enrollment token. Changing them
// changes every derived key: bump the format version if you must.
const (
	hkdfSalt = "tidewatch credentials v1"
	hkdfInfo = "tidewatch credentials v1 aes-256-gcm"
)

// nonceSize is the GCM standard nonce size.
const nonceSize = 12

// ErrMalformed is returned by Open when the sealed string is not in the
// expected format (wrong prefix, bad base64, too short).
var ErrMalformed = errors.New("credseal: malformed sealed value")

// ErrOpen is returned by Open when authentication fails: wrong key, wrong
// account id (aad), or tampered data.
var ErrOpen = errors.New("credseal: cannot open sealed value")

// ErrKeySize is returned when a key is not KeySize bytes long.
var ErrKeySize = errors.New("credseal: key must be 32 bytes")

// DeriveKey derives the 32-byte sealing key from an appliance's enrollment
// token with HKDF-SHA256 and fixed salt and info. Both sides hold the token,
// so both derive the same key without it ever crossing the wire.
func DeriveKey(enrollmentToken string) []byte {
	key, err := hkdf.Key(sha256.New, []byte(enrollmentToken), []byte(hkdfSalt), hkdfInfo, KeySize)
	if err != nil {
		// hkdf.Key only fails for key lengths beyond 255*hash size; 32 is
		// a constant well within bounds.
		panic(fmt.Sprintf("credseal: hkdf: %v", err))
	}

	return key
}

// newAEAD builds the AES-256-GCM AEAD for key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}

	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("credseal: creating cipher: %w", err)
	}

	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("credseal: creating gcm: %w", err)
	}

	return aead, nil
}

// Seal encrypts plaintext under key, binding it to aad (the account id), and
// returns the compact sealed string.
func Seal(key []byte, plaintext []byte, aad string) (string, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}

	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(buf)

	buf = aead.Seal(buf, buf[:nonceSize], plaintext, []byte(aad))

	return prefix + base64.RawURLEncoding.EncodeToString(buf), nil
}

// Open decrypts a value produced by Seal with the same key and aad. It
// returns ErrMalformed for values that are not in the sealed format and
// ErrOpen when authentication fails.
func Open(key []byte, sealed string, aad string) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}

	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return nil, fmt.Errorf("%w: unknown version prefix", ErrMalformed)
	}

	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64", ErrMalformed)
	}

	if len(raw) < nonceSize+aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrMalformed)
	}

	plaintext, err := aead.Open(nil, raw[:nonceSize], raw[nonceSize:], []byte(aad))
	if err != nil {
		// Don't wrap: the GCM error carries no more information and
		// callers match on ErrOpen.
		return nil, ErrOpen
	}

	return plaintext, nil
}
