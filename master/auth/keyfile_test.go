package auth

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")

	key, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	assert.Len(t, key, KeyFileSize)

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	assert.Equal(t, key, again, "loaded, not regenerated")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")

	write := func(t *testing.T, name string, data []byte, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(p, data, mode))
		require.NoError(t, os.Chmod(p, mode))

		return p
	}

	tests := []struct {
		name    string
		path    func(t *testing.T) string
		wantErr string
	}{
		{name: "group readable", path: func(t *testing.T) string { return write(t, "k", key, 0o640) }, wantErr: "readable by others"},
		{name: "world readable", path: func(t *testing.T) string { return write(t, "k", key, 0o604) }, wantErr: "readable by others"},
		{name: "short", path: func(t *testing.T) string { return write(t, "k", key[:16], 0o600) }, wantErr: "16 bytes"},
		{name: "empty", path: func(t *testing.T) string { return write(t, "k", nil, 0o600) }, wantErr: "0 bytes"},
		{name: "directory", path: func(t *testing.T) string { return t.TempDir() }, wantErr: "not a regular file"},
		{name: "missing dir", path: func(t *testing.T) string { return filepath.Join(t.TempDir(), "no", "k") }, wantErr: "creating key file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := LoadOrCreateKeyFile(tc.path(t))
			assert.ErrorContains(t, err, tc.wantErr)
			assert.Nil(t, k)
		})
	}
}

func TestLoadOrCreateKeyFile_Concurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")

	const n = 8
	var (
		wg   sync.WaitGroup
		keys = make([][]byte, n)
		errs = make([]error, n)
	)
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateKeyFile(path) })
	}
	wg.Wait()

	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, keys[0], keys[i], "every caller ends up with the same key")
	}
}
