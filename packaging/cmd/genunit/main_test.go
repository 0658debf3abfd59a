package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tidewatch/tidewatch/packaging"
)

// TestRun checks that both outputs carry exactly the rendered unit and that
// bad usage fails.
func TestRun(t *testing.T) {
	want, err := packaging.RenderApplianceUnit()
	require.NoError(t, err)

	var stdout bytes.Buffer
	require.NoError(t, run(nil, &stdout))
	assert.Equal(t, want, stdout.String())

	file := filepath.Join(t.TempDir(), "tidewatch-appliance.service")
	stdout.Reset()
	require.NoError(t, run([]string{"-o", file}, &stdout))
	assert.Empty(t, stdout.String())
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
	st, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())

	assert.Error(t, run([]string{"extra"}, &stdout))
	assert.Error(t, run([]string{"-bogus"}, &stdout))
	assert.Error(t, run([]string{"-o", filepath.Join(t.TempDir(), "missing", "x.service")}, &stdout))
}
