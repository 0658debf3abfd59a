package client

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTracker(t *testing.T) {
	type step struct {
		op      string // "push" or "sync"
		id      string
		cursor  string
		wantNew bool
	}
	tests := []struct {
		name       string
		start      State
		steps      []step
		wantCursor string
		wantAhead  []Delivered
	}{
		{
			name:       "sync moves the cursor",
			steps:      []step{{"sync", "a", "1", true}, {"sync", "b", "2", true}},
			wantCursor: "2",
		},
		{
			name:       "a push does not move the cursor; the sync after it does",
			start:      State{Cursor: "4"},
			steps:      []step{{"push", "e", "5", true}, {"sync", "e", "5", false}},
			wantCursor: "5",
		},
		{
			name:  "out-of-order pushes: the earlier one is still delivered",
			start: State{Cursor: "4"},
			steps: []step{{"push", "f", "6", true}, {"push", "e", "5", true}, {"sync", "e", "5", false}},
			// f stays ahead until a sync passes it.
			wantCursor: "5",
			wantAhead:  []Delivered{{ID: "f", Cursor: "6"}},
		},
		{
			name:  "a lost push is caught by the sync",
			start: State{Cursor: "4"},
			steps: []step{{"push", "f", "6", true}, {"sync", "e", "5", true}, {"sync", "f", "6", false}},
			// e's push never came; the sync delivered it, and not f twice.
			wantCursor: "6",
		},
		{
			name:       "a push at or below the cursor is old",
			start:      State{Cursor: "9"},
			steps:      []step{{"push", "x", "9", false}, {"push", "y", "3", false}},
			wantCursor: "9",
		},
		{
			name:       "saved ahead entries survive a restart",
			start:      State{Cursor: "4", Ahead: []Delivered{{ID: "e", Cursor: "5"}}},
			steps:      []step{{"push", "e", "5", false}, {"sync", "e", "5", false}, {"sync", "g", "7", true}},
			wantCursor: "7",
		},
		{
			name:  "no cursors at all: ids decide",
			steps: []step{{"push", "a", "", true}, {"push", "a", "", false}, {"sync", "a", "", false}, {"sync", "b", "", true}},
			// The sync that answered with a moved it out of Ahead.
			wantCursor: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(tt.start)
			for i, s := range tt.steps {
				assert.Equal(t, s.wantNew, tr.isNew(s.id, s.cursor), "step %d (%s %s)", i, s.op, s.id)
				if s.op == "push" {
					if s.wantNew {
						tr.pushed(s.id, s.cursor, 0)
					}
				} else {
					tr.synced(s.id, s.cursor, 0)
				}
			}
			st := tr.state()
			assert.Equal(t, tt.wantCursor, st.Cursor)
			assert.Equal(t, tt.wantAhead, append([]Delivered(nil), st.Ahead...))
		})
	}
}

func TestTrackerBoundsAhead(t *testing.T) {
	tr := newTracker(State{})
	for i := range maxAhead + 10 {
		tr.pushed(string(rune('a'+i%26))+time.Duration(i).String(), "", int64(i))
	}
	st := tr.state()
	assert.Len(t, st.Ahead, maxAhead)
	assert.Equal(t, int64(maxAhead+9), st.LastSyncTime)
}

func TestCmpCursor(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"2", "10", -1}, {"10", "2", 1}, {"7", "7", 0}, {"1", "", 1}, {"", "5", 1}, {"x", "5", 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, cmpCursor(tt.a, tt.b), "%q vs %q", tt.a, tt.b)
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	for n := range 40 {
		ceiling := hi
		if n < 5 {
			ceiling = lo << n
		}
		for range 50 {
			d := backoff(n, lo, hi)
			assert.GreaterOrEqual(t, d, ceiling/2, "attempt %d", n)
			assert.LessOrEqual(t, d, ceiling, "attempt %d", n)
		}
	}
	// Jitter: repeated draws differ.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[backoff(3, lo, hi)] = true
	}
	assert.Greater(t, len(seen), 1)
}

func TestNormalizeServer(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "http://127.0.0.1:7600", want: "http://127.0.0.1:7600"},
		{in: "  https://tw.example.org/ ", want: "https://tw.example.org"},
		{in: "tw.example.org:7600", want: "http://tw.example.org:7600"},
		{in: "https://example.org/tidewatch/?x=1#y", want: "https://example.org/tidewatch"},
		{in: "", wantErr: "empty"},
		{in: "ftp://example.org", wantErr: "scheme"},
		{in: "http://", wantErr: "no host"},
		{in: "https://bob:pw@example.org", wantErr: "user name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeServer(tt.in)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFileState(t *testing.T) {
	dir := t.TempDir()
	f := &FileState{Path: filepath.Join(dir, "state.json")}
	st, err := f.Load()
	require.NoError(t, err, "a missing file is the zero state")
	assert.Equal(t, State{}, st)

	want := State{Cursor: "42", LastSyncTime: 1700000000, Ahead: []Delivered{{ID: "ntf-1", Cursor: "43"}}}
	require.NoError(t, f.Save(want))
	got, err := f.Load()
	require.NoError(t, err)
	assert.Equal(t, want, got)
	fi, err := os.Stat(f.Path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")

	require.NoError(t, os.WriteFile(f.Path, []byte("{not json"), 0o600))
	_, err = f.Load()
	assert.ErrorContains(t, err, "damaged")
}
