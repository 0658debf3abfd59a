package testmonitor_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/appliance/agent/testmonitor"
	"github.com/tidewatch/tidewatch/crawler"
)

// sink records what the monitor reports; refuse makes Detected fail.
type sink struct {
	mu       sync.Mutex
	detected []string
	failed   []string
	creds    []string
	refuse   bool
}

func (s *sink) Detected(_ context.Context, _ string, items []crawler.Detection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse {
		return errors.New("disk full")
	}
	for _, it := range items {
		s.detected = append(s.detected, it.MessageType+":"+it.Data.ID)
	}
	return nil
}

func (s *sink) Failed(_ context.Context, _, errorType, message string, _ int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed = append(s.failed, errorType+":"+message)
}

func (s *sink) CredentialsChanged(_ context.Context, _ string, c []byte, _ time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = append(s.creds, string(c))
}

func (s *sink) Polled(string, crawler.PollResult) {}

// snapshot returns copies of the records.
func (s *sink) snapshot() (detected, failed, creds []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.detected...), append([]string(nil), s.failed...), append([]string(nil), s.creds...)
}

// setRefuse changes whether Detected fails.
func (s *sink) setRefuse(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = v
}

// appendFile appends text to a file.
func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestMonitor(t *testing.T) {
	dir := t.TempDir()
	f, err := testmonitor.New(&testmonitor.Config{Dir: dir, Tick: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	assert.Equal(t, "douyin", f.Platform())
	s := &sink{}
	m, err := f.Start(context.Background(), crawler.Account{ID: "acc-1", Credentials: []byte("jar"), Interval: time.Minute}, s)
	require.NoError(t, err)
	started, err := os.ReadFile(filepath.Join(dir, "acc-1.started"))
	require.NoError(t, err)
	assert.Equal(t, "credentials_len=3 interval=1m0s\n", string(started))

	file := filepath.Join(dir, "acc-1.jsonl")
	appendFile(t, file, `{"data":{"id":"c1","platform_comment_id":"1"}}`+"\n"+
		`{"message_type":"direct_message","data":{"id":"d1","platform_message_id":"2"}}`+"\n"+
		`not json`+"\n"+
		`{"error":{"error_type":"auth_failed","message":"expired","retry_count":1}}`+"\n"+
		`{"credentials":"rolled"}`+"\n"+
		`{"data":{"id":"c2","platform_comment_id":"3"}}`) // no newline yet: waits
	require.Eventually(t, func() bool {
		d, fl, c := s.snapshot()
		return len(d) == 2 && len(fl) == 1 && len(c) == 1
	}, 5*time.Second, 10*time.Millisecond)
	d, fl, c := s.snapshot()
	assert.Equal(t, []string{"comment:c1", "direct_message:d1"}, d)
	assert.Equal(t, []string{"auth_failed:expired"}, fl)
	assert.Equal(t, []string{"rolled"}, c)

	// A refused batch is offered again once the sink takes it.
	s.setRefuse(true)
	appendFile(t, file, "\n")
	time.Sleep(50 * time.Millisecond)
	s.setRefuse(false)
	require.Eventually(t, func() bool { d, _, _ := s.snapshot(); return len(d) == 3 }, 5*time.Second, 10*time.Millisecond)
	d, _, _ = s.snapshot()
	assert.Equal(t, "comment:c2", d[2])

	require.NoError(t, m.Stop(context.Background()))
	assert.FileExists(t, filepath.Join(dir, "acc-1.stopped"))

	_, err = f.Start(context.Background(), crawler.Account{ID: "../escape"}, s)
	assert.Error(t, err)
}
