// Package logring keeps the last log lines of the appliance in memory for its
// status page. [Handler] is a slog.Handler that formats each record into a
// bounded [Ring] and passes it on to another handler; values of attributes
// whose key looks secret never reach either of them.
package logring

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// Sizes of the ring. A Raspberry Pi has little memory to spare and the page
// shows only the tail, so both the number and the length of lines are capped.
const (
	// DefaultCapacity is the number of lines kept when New is given 0.
	DefaultCapacity = 200
	// MaxLineLen is the longest line kept, in bytes; longer lines are cut
	// at a character boundary and end with "…".
	MaxLineLen = 1024
)

// Ring is a fixed-size buffer of the most recent lines. It is safe for
// concurrent use.
type Ring struct {
	// mu guards lines, start and n.
	mu sync.Mutex
	// lines is the circular storage; its length is the capacity.
	lines []string
	// start is the index of the oldest line.
	start int
	// n is the number of lines held.
	n int
}

// New returns a ring that keeps the last capacity lines (DefaultCapacity if
// capacity <= 0).
func New(capacity int) *Ring {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Ring{lines: make([]string, capacity)}
}

// Add appends one line, dropping the oldest when the ring is full. A line
// longer than MaxLineLen is cut.
func (r *Ring) Add(line string) {
	line = truncate(strings.TrimRight(line, "\r\n"), MaxLineLen)
	r.mu.Lock()
	defer r.mu.Unlock()
	capacity := len(r.lines)
	if r.n < capacity {
		r.lines[(r.start+r.n)%capacity] = line
		r.n++
		return
	}
	r.lines[r.start] = line
	r.start = (r.start + 1) % capacity
}

// Write implements io.Writer: every line of p becomes one entry. It never
// fails, so a ring can be the output of another logger.
func (r *Ring) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		r.Add(line)
	}
	return len(p), nil
}

// Lines returns a copy of the lines held, oldest first.
func (r *Ring) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, r.n)
	for i := range r.n {
		out[i] = r.lines[(r.start+i)%len(r.lines)]
	}
	return out
}

// Len returns the number of lines held.
func (r *Ring) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// truncate cuts s to at most limit bytes without splitting a character.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ellipsis = "…"
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
