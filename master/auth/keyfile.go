package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyFileSize is the size of the master key file in bytes.
const KeyFileSize = 32

// LoadOrCreateKeyFile reads the 32-byte key at path, or creates it with
// random bytes and mode 0600 if it does not exist. Creation is atomic (write
// to a temporary file in the same directory, fsync, rename) so a crash never
// leaves a short key behind. It refuses an existing file that is readable by
// group or others, or whose size is not 32 bytes.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	key, err := loadKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}

	key = make([]byte, KeyFileSize)
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(key)

	if err = writeKeyFile(path, key); err != nil {
		return nil, err
	}

	// Re-read: if another process created the file concurrently, its key
	// won and is the one on disk.
	return loadKeyFile(path)
}

// loadKeyFile reads and checks an existing key file.
func loadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening key file: %w", err)
	}
	defer func() { _ = f.Close() }()

	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %#o, readable by others: chmod 600 it", path, perm)
	}
	if fi.Size() != KeyFileSize {
		return nil, fmt.Errorf("key file %s has %d bytes, want %d", path, fi.Size(), KeyFileSize)
	}

	key := make([]byte, KeyFileSize)
	if _, err = f.ReadAt(key, 0); err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}

	return key, nil
}

// writeKeyFile writes key to path atomically with mode 0600.
func writeKeyFile(path string, key []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return fmt.Errorf("creating key file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()

	// os.CreateTemp already uses 0600; Chmod makes it explicit against
	// platform differences.
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("setting key file mode: %w", err)
	}
	if _, err = tmp.Write(key); err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("syncing key file: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("closing key file: %w", err)
	}

	// Link instead of rename: fails if the file appeared meanwhile, so a
	// concurrent creator's key is never replaced once someone may use it.
	if lerr := os.Link(tmp.Name(), path); lerr != nil && !errors.Is(lerr, fs.ErrExist) {
		// Some file systems have no hard links: fall back to rename.
		if err = os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("installing key file: %w", err)
		}
	}
	_ = os.Remove(tmp.Name())

	if d, derr := os.Open(dir); derr == nil {
		// Persist the directory entry; best effort where unsupported.
		_ = d.Sync()
		_ = d.Close()
	}

	return nil
}
