//go:build linux

package sysinfo

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	// A command name may hold spaces and parentheses; fields count from
	// the last ')'.
	const line = "4242 (we) ird (name) S 17 4242 4242 0 -1 4194560 1500 0 0 0 " +
		"250 120 30 7 20 0 12 0 98765 1234567890 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"

	p, err := parseStat(4242, []byte(line), 4096)
	require.NoError(t, err)

	assert.Equal(t, int32(4242), p.pid)
	assert.Equal(t, int32(17), p.ppid)
	assert.Equal(t, uint64(98765), p.start)
	assert.Equal(t, 3700*time.Millisecond, p.selfCPU)
	assert.Equal(t, 370*time.Millisecond, p.reapedCPU)
	assert.Equal(t, uint64(2048*4096), p.rssBytes)
}

func TestParseStat_malformed(t *testing.T) {
	testCases := []struct {
		name string
		line string
	}{
		{name: "no comm", line: "12 S 1 2 3"},
		{name: "truncated", line: "12 (x) S 1 2 3 4 5 6 7 8 9 10"},
		{name: "not a number", line: "12 (x) S one 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22"},
	}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseStat(12, []byte(tc.line), 4096)
			assert.Error(t, err)
		})
	}
}

func TestScanner_readPSS(t *testing.T) {
	sc := newScanner(-1)
	snap, err := sc.scan(t.Context(), 1<<30)
	assert.ErrorIs(t, err, ErrRootGone)
	assert.Nil(t, snap)

	pss, ok := sc.readPSS(int32(os.Getpid()))
	require.True(t, ok)
	assert.Positive(t, pss)
}

func TestScanner_pssRefresh(t *testing.T) {
	ctx := t.Context()
	root := int32(os.Getpid())

	testCases := []struct {
		name        string
		refresh     time.Duration
		wantRereads bool
	}{
		{name: "cached", refresh: time.Hour, wantRereads: false},
		{name: "every scan", refresh: -1, wantRereads: true},
	}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			sc := newScanner(tc.refresh)
			first, err := sc.scan(ctx, root)
			require.NoError(t, err)
			reads := sc.pssReads
			require.Positive(t, reads)

			// Grow the RSS so a carried-forward PSS must move with it.
			mem := make([]byte, 32<<20)
			for i := 0; i < len(mem); i += 4096 {
				mem[i] = 1
			}

			second, err := sc.scan(ctx, root)
			require.NoError(t, err)
			runtime.KeepAlive(mem)

			if tc.wantRereads {
				assert.Greater(t, sc.pssReads, reads)
			} else {
				assert.Equal(t, reads, sc.pssReads)
			}
			assert.True(t, second.procs[0].hasPSS)
			assert.Greater(t, second.procs[0].pssBytes, first.procs[0].pssBytes+24<<20,
				"PSS follows the RSS growth")
		})
	}
}
