package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/client"
	"github.com/tidewatch/tidewatch/protocol"
)

// recorder collects what a Client delivers.
type recorder struct {
	mu       sync.Mutex
	got      []client.Notification
	statuses []client.Status
	readBy   []string
	note     chan struct{}
}

// newRecorder returns an empty recorder.
func newRecorder() *recorder { return &recorder{note: make(chan struct{}, 1)} }

// poke wakes a waiter.
func (r *recorder) poke() {
	select {
	case r.note <- struct{}{}:
	default:
	}
}

// onNotification is the Client's OnNotification.
func (r *recorder) onNotification(n client.Notification) error {
	r.mu.Lock()
	r.got = append(r.got, n)
	r.mu.Unlock()
	r.poke()
	return nil
}

// onStatus is the Client's OnStatus.
func (r *recorder) onStatus(s client.Status) {
	r.mu.Lock()
	r.statuses = append(r.statuses, s)
	r.mu.Unlock()
	r.poke()
}

// onReadBy is the Client's OnReadBy.
func (r *recorder) onReadBy(p protocol.NotificationReadBy) {
	r.mu.Lock()
	r.readBy = append(r.readBy, p.NotificationID)
	r.mu.Unlock()
	r.poke()
}

// waitUntil waits until cond holds over the recorder's state.
func (r *recorder) waitUntil(t *testing.T, what string, cond func(r *recorder) bool) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		r.mu.Lock()
		ok := cond(r)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.note:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("timed out waiting for %s; got %d notifications, statuses %v", what, len(r.got), r.statuses)
		}
	}
}

// waitCount waits for n notifications and returns them.
func (r *recorder) waitCount(t *testing.T, n int) []client.Notification {
	t.Helper()
	r.waitUntil(t, "notifications", func(r *recorder) bool { return len(r.got) >= n })
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]client.Notification(nil), r.got...)
}

// connects counts connections that finished their catch-up sync.
func (r *recorder) connects() int {
	n := 0
	for _, s := range r.statuses {
		if s.Connected && s.CaughtUp {
			n++
		}
	}
	return n
}

// running is a Client running in the background.
type running struct {
	c    *client.Client
	stop context.CancelFunc
	done chan struct{}
	err  error // set before done is closed
}

// wait returns Run's result.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(waitFor):
		t.Fatal("Run did not return")
		return nil
	}
}

// start runs a client for the env's user against server.
func start(t *testing.T, server, token, device string, state client.StateStore, rec *recorder, mutate func(*client.Config)) *running {
	t.Helper()
	cfg := &client.Config{
		Dial: client.DialConfig{
			Server: server, Token: token, DeviceID: device, DeviceType: protocol.DeviceCLI, DeviceName: "test " + device,
			Timeout: 2 * time.Second,
		},
		State:          state,
		OnNotification: rec.onNotification,
		OnStatus:       rec.onStatus,
		OnReadBy:       rec.onReadBy,
		BackoffMin:     20 * time.Millisecond,
		BackoffMax:     200 * time.Millisecond,
	}
	if mutate != nil {
		mutate(cfg)
	}
	c, err := client.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{c: c, stop: cancel, done: make(chan struct{})}
	go func() {
		r.err = c.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// contents returns the notifications' contents.
func contents(ns []client.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Content
	}
	return out
}

func TestLivePush(t *testing.T) {
	e := newEnv(t)
	rec := newRecorder()
	state := &client.MemoryState{}
	start(t, e.url, e.token, "dev-live", state, rec, nil)
	rec.waitUntil(t, "connect", func(r *recorder) bool { return r.connects() == 1 })

	text := e.detect(t)
	got := rec.waitCount(t, 1)
	n := got[0]
	assert.True(t, n.Live, "arrived as a push, not by sync")
	assert.Equal(t, text, n.Content)
	assert.Equal(t, protocol.MessageTypeComment, n.Type)
	assert.Equal(t, "我的抖音账号", n.AccountName)
	assert.Equal(t, e.account.ID, n.AccountID)
	assert.Equal(t, "cmt-1", n.RelatedID)
	assert.NotEmpty(t, n.Cursor)
	assert.WithinDuration(t, time.Now(), n.CreatedAt, time.Minute)

	// The follow-up sync moves the saved cursor past the push and empties
	// the list of notifications delivered ahead of it.
	require.Eventually(t, func() bool {
		st, _ := state.Load()
		return st.Cursor == n.Cursor && len(st.Ahead) == 0
	}, waitFor, 10*time.Millisecond)
	assert.Len(t, rec.waitCount(t, 1), 1, "the follow-up sync delivered nothing twice")
}

func TestReconnectSyncsExactlyTheMissed(t *testing.T) {
	e := newEnv(t)
	p := newProxy(t, e.m.Addr)
	rec := newRecorder()
	start(t, p.url(), e.token, "dev-flaky", &client.MemoryState{}, rec, nil)
	rec.waitUntil(t, "connect", func(r *recorder) bool { return r.connects() == 1 })

	before := []string{e.detect(t), e.detect(t)}
	assert.Equal(t, before, contents(rec.waitCount(t, 2)))

	// Cut the connection and keep the master out of reach while three
	// messages arrive.
	p.setDown(true)
	rec.waitUntil(t, "disconnect", func(r *recorder) bool {
		return len(r.statuses) > 0 && !r.statuses[len(r.statuses)-1].Connected
	})
	missed := []string{e.detect(t), e.detect(t), e.detect(t)}
	p.setDown(false)
	rec.waitUntil(t, "reconnect", func(r *recorder) bool { return r.connects() == 2 })

	// A live marker after the catch-up: anything delivered twice would sit
	// before it.
	marker := e.detect(t)
	got := rec.waitCount(t, 6)
	assert.Equal(t, append(append(append([]string(nil), before...), missed...), marker), contents(got))
	for _, n := range got[2:5] {
		assert.False(t, n.Live, "%s was caught up by sync", n.Content)
	}
	seen := map[string]bool{}
	for _, n := range got {
		assert.False(t, seen[n.ID], "%s delivered twice", n.ID)
		seen[n.ID] = true
	}
	var lastErr error
	rec.mu.Lock()
	for _, s := range rec.statuses {
		if s.Err != nil {
			lastErr = s.Err
		}
	}
	rec.mu.Unlock()
	assert.Error(t, lastErr, "the lost connection was reported")
}

func TestRestartResumesFromTheCursorOnDisk(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "state.json")

	rec1 := newRecorder()
	r1 := start(t, e.url, e.token, "dev-disk", &client.FileState{Path: path}, rec1, nil)
	rec1.waitUntil(t, "connect", func(r *recorder) bool { return r.connects() == 1 })
	first := []string{e.detect(t), e.detect(t)}
	assert.Equal(t, first, contents(rec1.waitCount(t, 2)))
	// Wait for the follow-up sync to save the cursor, then stop.
	require.Eventually(t, func() bool {
		st, err := (&client.FileState{Path: path}).Load()
		return err == nil && st.Cursor != "" && len(st.Ahead) == 0
	}, waitFor, 10*time.Millisecond)
	r1.stop()
	require.NoError(t, r1.wait(t), "Run returns nil when its context ends")

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// Five messages while no client runs; a new client with the same state
	// file, paging two at a time, gets exactly those.
	var missed []string
	for range 5 {
		missed = append(missed, e.detect(t))
	}
	rec2 := newRecorder()
	start(t, e.url, e.token, "dev-disk", &client.FileState{Path: path}, rec2, func(c *client.Config) { c.SyncPageSize = 2 })
	rec2.waitUntil(t, "connect", func(r *recorder) bool { return r.connects() == 1 })
	marker := e.detect(t)
	got := rec2.waitCount(t, 6)
	assert.Equal(t, append(missed, marker), contents(got))
}

func TestPushDeliveredBeforeRestartIsNotRepeated(t *testing.T) {
	// A push delivered and saved in Ahead, but not yet passed by a sync,
	// must not be delivered again by the next run's sync.
	e := newEnv(t)
	text := e.detect(t)
	state := &client.MemoryState{}

	// What the first run would have saved: the cursor before the
	// notification, the notification itself delivered ahead of it.
	s, err := client.Dial(context.Background(), &client.DialConfig{Server: e.url, Token: e.token, DeviceID: "dev-x"})
	require.NoError(t, err)
	resp, err := s.Sync(context.Background(), protocol.SyncRequest{})
	s.Close()
	require.NoError(t, err)
	require.Len(t, resp.Notifications, 1)
	n := resp.Notifications[0]
	require.NoError(t, state.Save(client.State{Ahead: []client.Delivered{{ID: n.ID, Cursor: n.Cursor}}}))

	rec := newRecorder()
	start(t, e.url, e.token, "dev-x", state, rec, nil)
	rec.waitUntil(t, "connect", func(r *recorder) bool { return r.connects() == 1 })
	marker := e.detect(t)
	assert.Equal(t, []string{marker}, contents(rec.waitCount(t, 1)))
	assert.NotEqual(t, text, marker)
	st, err := state.Load()
	require.NoError(t, err)
	require.Eventually(t, func() bool { st, _ = state.Load(); return len(st.Ahead) == 0 }, waitFor, 10*time.Millisecond)
}

func TestMarkRead(t *testing.T) {
	e := newEnv(t)
	recA, recB := newRecorder(), newRecorder()
	a := start(t, e.url, e.token, "dev-a", nil, recA, nil)
	start(t, e.url, e.token, "dev-b", nil, recB, nil)
	recA.waitUntil(t, "connect", func(r *recorder) bool { return r.connects() == 1 })
	recB.waitUntil(t, "connect", func(r *recorder) bool { return r.connects() == 1 })

	e.detect(t)
	n := recA.waitCount(t, 1)[0]
	recB.waitCount(t, 1)
	assert.False(t, n.Read)

	ctx := context.Background()
	require.NoError(t, a.c.MarkRead(ctx, n.ID))
	recB.waitUntil(t, "read mark on the other device", func(r *recorder) bool {
		return len(r.readBy) == 1 && r.readBy[0] == n.ID
	})

	err := a.c.MarkRead(ctx, "ntf-does-not-exist")
	var pe *client.ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, protocol.ErrNotFound, pe.Code)

	// A fresh sync reports the read state.
	s, err := client.Dial(ctx, &client.DialConfig{Server: e.url, Token: e.token, DeviceID: "dev-c"})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, 0, s.ConnectAck().UnreadNotifications)
	resp, err := s.Sync(ctx, protocol.SyncRequest{})
	require.NoError(t, err)
	require.Len(t, resp.Notifications, 1)
	assert.True(t, resp.Notifications[0].Read)
}

func TestRunStopsOnARefusedToken(t *testing.T) {
	e := newEnv(t)
	rec := newRecorder()
	r := start(t, e.url, "not-a-token", "dev-bad", nil, rec, nil)
	err := r.wait(t)
	require.ErrorIs(t, err, client.ErrUnauthorized)
	assert.Zero(t, rec.connects())
}

func TestRunStopsWhenTheHandlerFails(t *testing.T) {
	e := newEnv(t)
	e.detect(t)
	boom := errors.New("stdout closed")
	state := &client.MemoryState{}
	r := start(t, e.url, e.token, "dev-h", state, newRecorder(), func(c *client.Config) {
		c.OnNotification = func(client.Notification) error { return boom }
	})
	require.ErrorIs(t, r.wait(t), boom)
	st, err := state.Load()
	require.NoError(t, err)
	assert.Empty(t, st.Cursor, "an undelivered notification does not move the cursor")
}

func TestDialUnreachable(t *testing.T) {
	// A port that was just free: nothing listens there.
	e := newEnv(t)
	p := newProxy(t, e.m.Addr)
	p.setDown(true)
	_, err := client.Dial(context.Background(), &client.DialConfig{
		Server: p.url(), Token: e.token, DeviceID: "dev-u", Timeout: time.Second,
	})
	var ue *client.UnreachableError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), p.url())
}

func TestLoginAndAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, _ = e.newUser(t, "root", true)

	res, err := client.Login(ctx, nil, e.url+"/", "alice", testPassword)
	require.NoError(t, err)
	assert.NotEmpty(t, res.Token)
	assert.Equal(t, "alice", res.User.Username)
	assert.False(t, res.User.Admin)
	assert.True(t, res.ExpiresAt.After(time.Now()))

	_, err = client.Login(ctx, nil, e.url, "alice", "wrong password")
	require.ErrorIs(t, err, client.ErrUnauthorized)
	var ae *client.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, protocol.ErrAuthFailed, ae.Code)

	api := &client.API{Server: e.url, Token: res.Token}
	accs, err := api.Accounts(ctx)
	require.NoError(t, err)
	require.Len(t, accs, 1)
	assert.Equal(t, e.account.ID, accs[0].ID)
	assert.Equal(t, "我的抖音账号", accs[0].Name)
	assert.Equal(t, "douyin", accs[0].Platform)
	assert.Equal(t, "worker-001", accs[0].WorkerID, "the registered worker took the account")

	_, err = api.Workers(ctx)
	require.ErrorIs(t, err, client.ErrForbidden)

	admin, err := client.Login(ctx, nil, e.url, "root", testPassword)
	require.NoError(t, err)
	ws, err := (&client.API{Server: e.url, Token: admin.Token}).Workers(ctx)
	require.NoError(t, err)
	require.Len(t, ws, 1)
	assert.Equal(t, "worker-001", ws[0].ID)
	assert.Equal(t, protocol.WorkerStatusOnline, ws[0].Status)
	assert.Equal(t, []string{e.account.ID}, ws[0].Accounts)

	_, err = (&client.API{Server: e.url, Token: "garbage"}).Accounts(ctx)
	require.ErrorIs(t, err, client.ErrUnauthorized)

	p := newProxy(t, e.m.Addr)
	p.setDown(true)
	_, err = client.Login(ctx, nil, p.url(), "alice", testPassword)
	var ue *client.UnreachableError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, p.url(), ue.URL)
}
