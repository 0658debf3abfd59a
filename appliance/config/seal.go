package config

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Sealing parameters.
const (
	// keySize is the size of the key file: 32 random bytes.
	keySize = 32
	// tokenKeyInfo separates the key that seals the token from keys derived
	// from the same key file for other purposes.
	tokenKeyInfo = "tidewatch appliance enrollment token v1"
	// tokenAAD binds a sealed value to its purpose, so a sealed token cannot
	// be passed off as another sealed field.
	tokenAAD = "tidewatch/appliance/token"
)

// errKeyMissing means a sealed token exists but the key file does not: the
// data directory was copied without it, or the key was deleted.
var errKeyMissing = errors.New("key file " + KeyFileName + " is missing; enter the enrollment token again")

// sealToken encrypts token with AES-256-GCM under a key derived from the data
// directory's key file (created on first use) and returns base64 of
// nonce||ciphertext.
func sealToken(dataDir, token string) (string, error) {
	aead, err := tokenAEAD(dataDir, true)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(token)+aead.Overhead())
	if _, err = rand.Read(nonce); err != nil {
		return "", fmt.Errorf("reading nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(token), []byte(tokenAAD))
	return base64.StdEncoding.EncodeToString(out), nil
}

// openToken reverses [sealToken].
func openToken(dataDir, sealed string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return "", fmt.Errorf("decoding sealed token: %w", err)
	}
	aead, err := tokenAEAD(dataDir, false)
	if err != nil {
		return "", err
	}
	if len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", errors.New("sealed token is too short")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(tokenAAD))
	if err != nil {
		return "", fmt.Errorf("opening sealed token (wrong key file?): %w", err)
	}
	return string(plain), nil
}

// tokenAEAD returns the AES-256-GCM cipher for the token. When create is set,
// a missing key file is created.
func tokenAEAD(dataDir string, create bool) (cipher.AEAD, error) {
	master, err := readKey(dataDir, create)
	if err != nil {
		return nil, err
	}
	key, err := hkdf.Key(sha256.New, master, nil, tokenKeyInfo, keySize)
	if err != nil {
		return nil, fmt.Errorf("deriving token key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating gcm: %w", err)
	}
	return aead, nil
}

// readKey returns the key file's 32 bytes, creating the file (mode 0600,
// exclusively, so two starts cannot write different keys) when create is set.
func readKey(dataDir string, create bool) ([]byte, error) {
	path := filepath.Join(dataDir, KeyFileName)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, errKeyMissing
		}
		key, err = createKey(path)
		if errors.Is(err, fs.ErrExist) {
			// Another process created it between our read and create.
			key, err = os.ReadFile(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("key file %s has %d bytes, want %d", KeyFileName, len(key), keySize)
	}
	return key, nil
}

// createKey writes a new random key to path, failing with fs.ErrExist when the
// file already exists.
func createKey(path string) ([]byte, error) {
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("reading random key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return nil, fmt.Errorf("creating key file: %w", err)
	}
	if _, err = f.Write(key); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("writing key file: %w", err)
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("syncing key file: %w", err)
	}
	if err = f.Close(); err != nil {
		return nil, fmt.Errorf("closing key file: %w", err)
	}
	return key, nil
}
