package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// maxAhead bounds State.Ahead. Entries leave it as soon as a sync passes
// them, so it only grows while pushes arrive faster than syncs answer.
const maxAhead = 1000

// State is where a client is in a user's notification stream. It is what a
// StateStore keeps between runs.
type State struct {
	// Cursor is the master's sequence of the last notification delivered
	// by a sync: everything up to it has been delivered.
	Cursor string `json:"cursor,omitempty"`
	// LastSyncTime is the creation time (Unix seconds) of the last
	// notification delivered; it is sent as last_sync_time for masters that
	// do not know cursors.
	LastSyncTime int64 `json:"last_sync_time,omitempty"`
	// Ahead lists notifications delivered from live pushes past Cursor,
	// so that the next sync, or the next run, does not deliver them again.
	Ahead []Delivered `json:"ahead,omitempty"`
}

// Delivered is a notification delivered past the cursor.
type Delivered struct {
	ID     string `json:"id"`
	Cursor string `json:"cursor,omitempty"`
}

// StateStore keeps a State between runs. Save is called after every
// delivered notification, so it should be cheap and atomic.
type StateStore interface {
	// Load returns the saved state; a store with nothing saved returns the
	// zero State and no error.
	Load() (State, error)
	// Save replaces the saved state.
	Save(State) error
}

// FileState keeps the state in a JSON file, written atomically (a temporary
// file, synced, then renamed over the old one) with mode 0600.
type FileState struct {
	// Path is the file; its directory must exist.
	Path string
}

// Load implements StateStore. A missing file is the zero state.
func (f *FileState) Load() (State, error) {
	var st State
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("reading state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("state file %s is damaged (delete it to start over): %w", f.Path, err)
	}
	return st, nil
}

// Save implements StateStore.
func (f *FileState) Save(st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	return WriteFileAtomic(f.Path, append(b, '\n'), 0o600)
}

// WriteFileAtomic writes data to path so that a reader, or a crash, sees
// either the old content or the new, never a mix: a temporary file in the
// same directory is written, synced and renamed over path.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// MemoryState keeps the state in memory: a client that starts over at every
// run, or a test. Its zero value is ready to use.
type MemoryState struct {
	mu sync.Mutex
	st State
}

// Load implements StateStore.
func (m *MemoryState) Load() (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneState(m.st), nil
}

// Save implements StateStore.
func (m *MemoryState) Save(st State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st = cloneState(st)
	return nil
}

// cloneState copies st so the caller's slice is not shared.
func cloneState(st State) State {
	st.Ahead = append([]Delivered(nil), st.Ahead...)
	return st
}

// tracker decides which notifications are new and moves the state on. The
// master's sequence only grows, and a sync answers in sequence order with
// nothing missing below its cursor, so a sync's cursor is the safe resume
// point. Pushes can arrive out of order (two messages ingested at once) or
// while an earlier one was lost, so a push never moves the cursor: it is
// remembered in Ahead until a sync passes it.
type tracker struct {
	st State
	// recent holds ids delivered in this run, for masters that send no
	// cursors; bounded like Ahead.
	recent map[string]struct{}
	order  []string
}

// newTracker starts from a saved state.
func newTracker(st State) *tracker {
	t := &tracker{st: cloneState(st), recent: map[string]struct{}{}}
	for _, d := range t.st.Ahead {
		t.remember(d.ID)
	}
	return t
}

// state returns a copy of the current state.
func (t *tracker) state() State { return cloneState(t.st) }

// isNew reports whether a notification with this id and cursor has not been
// delivered yet.
func (t *tracker) isNew(id, cursor string) bool {
	if cmpCursor(cursor, t.st.Cursor) <= 0 {
		return false
	}
	_, seen := t.recent[id]
	return !seen
}

// pushed records a notification delivered from a push.
func (t *tracker) pushed(id, cursor string, createdAt int64) {
	t.remember(id)
	t.st.Ahead = append(t.st.Ahead, Delivered{ID: id, Cursor: cursor})
	if n := len(t.st.Ahead); n > maxAhead {
		t.st.Ahead = append([]Delivered(nil), t.st.Ahead[n-maxAhead:]...)
	}
	if createdAt > t.st.LastSyncTime {
		t.st.LastSyncTime = createdAt
	}
}

// synced moves the state past a notification a sync answered with, whether
// it was delivered now or before; id may be empty for a page's end cursor.
func (t *tracker) synced(id, cursor string, createdAt int64) {
	if id != "" {
		t.remember(id)
	}
	if cursor != "" && cmpCursor(cursor, t.st.Cursor) > 0 {
		t.st.Cursor = cursor
	}
	if createdAt > t.st.LastSyncTime {
		t.st.LastSyncTime = createdAt
	}
	kept := t.st.Ahead[:0]
	for _, d := range t.st.Ahead {
		if d.ID == id || (d.Cursor != "" && cmpCursor(d.Cursor, t.st.Cursor) <= 0) {
			continue
		}
		kept = append(kept, d)
	}
	t.st.Ahead = kept
}

// remember adds an id to the bounded set of recent ids.
func (t *tracker) remember(id string) {
	if _, ok := t.recent[id]; ok {
		return
	}
	t.recent[id] = struct{}{}
	t.order = append(t.order, id)
	if len(t.order) > 2*maxAhead {
		for _, old := range t.order[:maxAhead] {
			delete(t.recent, old)
		}
		t.order = append([]string(nil), t.order[maxAhead:]...)
	}
}

// cmpCursor compares two cursors as the numbers they are: -1, 0 or 1. An
// empty or non-numeric cursor (a master that sends none) compares as
// greater than anything, so that only ids decide.
func cmpCursor(a, b string) int {
	ai, aerr := strconv.ParseInt(a, 10, 64)
	if aerr != nil {
		return 1
	}
	bi, berr := strconv.ParseInt(b, 10, 64)
	if berr != nil {
		return 1
	}
	switch {
	case ai < bi:
		return -1
	case ai > bi:
		return 1
	}
	return 0
}
