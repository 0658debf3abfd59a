package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/protocol"
)

// Defaults of Config.
const (
	// DefaultBackoffMin is the first reconnect delay.
	DefaultBackoffMin = 500 * time.Millisecond
	// DefaultBackoffMax caps the reconnect delay.
	DefaultBackoffMax = 30 * time.Second
	// DefaultSyncPageSize is how many notifications one sync page asks for.
	DefaultSyncPageSize = 100
)

// Notification is a notification delivered to the application.
type Notification struct {
	ID          string
	Type        string // comment or direct_message
	AccountID   string
	AccountName string
	Title       string
	Content     string
	RelatedID   string
	CreatedAt   time.Time
	// Read is the read state the master reported (always false for a
	// fresh push).
	Read bool
	// Cursor is the master's sequence of the notification.
	Cursor string
	// Live is true for a push, false for a notification caught up by sync.
	Live bool
}

// Status reports the connection's state changes to the application.
type Status struct {
	// Connected is true once client:connect was accepted, false after a
	// failed attempt or a lost connection.
	Connected bool
	// Unread is the master's unread count at connect time.
	Unread int
	// CaughtUp is true once the catch-up sync after connecting is done:
	// from then on notifications arrive live.
	CaughtUp bool
	// Err says why the attempt failed or the connection ended.
	Err error
	// RetryIn is the delay before the next attempt.
	RetryIn time.Duration
}

// Config configures a Client.
type Config struct {
	// Dial says where and as whom to connect.
	Dial DialConfig
	// State keeps the cursor between runs; nil means a MemoryState, so
	// every run starts from the beginning.
	State StateStore
	// OnNotification receives every notification once, in the Run
	// goroutine. If it returns an error, Run stops with that error and the
	// notification counts as not delivered. Required.
	OnNotification func(Notification) error
	// OnReadBy, if set, receives read marks (from any of the user's
	// devices).
	OnReadBy func(protocol.NotificationReadBy)
	// OnAccountUpdate, if set, receives account status changes.
	OnAccountUpdate func(protocol.AccountUpdate)
	// OnStatus, if set, is told about connects, failed attempts and lost
	// connections.
	OnStatus func(Status)
	// SyncPageSize is the page size asked for; zero means
	// DefaultSyncPageSize. The master may answer with less.
	SyncPageSize int
	// BackoffMin and BackoffMax bound the reconnect delay, which doubles
	// with every failed attempt and is jittered; zero means the defaults.
	BackoffMin, BackoffMax time.Duration
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
}

// Client keeps a session with the master alive and delivers every
// notification exactly once across disconnects and, with a persistent
// StateStore, across restarts.
type Client struct {
	cfg Config
	log *slog.Logger
	tr  *tracker

	mu   sync.Mutex
	sess *Session
}

// New checks cfg and returns a Client. Nothing connects until Run.
func New(cfg *Config) (*Client, error) {
	if cfg == nil || cfg.OnNotification == nil {
		return nil, errors.New("client: OnNotification is required")
	}
	c := *cfg
	if c.Dial.Token == "" || c.Dial.DeviceID == "" {
		return nil, errors.New("client: token and device id are required")
	}
	server, err := NormalizeServer(c.Dial.Server)
	if err != nil {
		return nil, err
	}
	c.Dial.Server = server
	if c.State == nil {
		c.State = &MemoryState{}
	}
	if c.SyncPageSize <= 0 {
		c.SyncPageSize = DefaultSyncPageSize
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Dial.Logger == nil {
		c.Dial.Logger = c.Logger
	}
	return &Client{cfg: c, log: c.Logger}, nil
}

// stopError ends Run: the application's handler or the state store failed,
// which reconnecting cannot fix.
type stopError struct{ err error }

// Error implements error.
func (e *stopError) Error() string { return e.err.Error() }

// Unwrap returns the cause.
func (e *stopError) Unwrap() error { return e.err }

// Run connects, catches up and delivers notifications until ctx is done,
// reconnecting after every lost connection. It returns nil when ctx ends,
// an error matching ErrUnauthorized when the master refuses the token, or
// the error of OnNotification or of the state store.
func (c *Client) Run(ctx context.Context) error {
	st, err := c.cfg.State.Load()
	if err != nil {
		return err
	}
	c.tr = newTracker(st)
	attempt := 0
	for {
		sess, err := Dial(ctx, &c.cfg.Dial)
		if err == nil {
			c.setSession(sess)
			c.status(Status{Connected: true, Unread: sess.ConnectAck().UnreadNotifications})
			var caughtUp bool
			caughtUp, err = c.serve(ctx, sess)
			c.setSession(nil)
			sess.Close()
			if caughtUp {
				attempt = 0
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		var se *stopError
		if errors.As(err, &se) {
			return se.err
		}
		if permanent(err) {
			return err
		}
		delay := backoff(attempt, c.cfg.BackoffMin, c.cfg.BackoffMax)
		attempt++
		c.status(Status{Err: err, RetryIn: delay})
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// MarkRead marks a notification read over the current connection; it
// fails with ErrNotConnected between connections.
func (c *Client) MarkRead(ctx context.Context, notificationID string) error {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s == nil {
		return ErrNotConnected
	}
	return s.MarkRead(ctx, notificationID)
}

// setSession records the current session for MarkRead.
func (c *Client) setSession(s *Session) {
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
}

// status calls OnStatus if set.
func (c *Client) status(s Status) {
	if c.cfg.OnStatus != nil {
		c.cfg.OnStatus(s)
	}
}

// serve catches up, then delivers events until the session ends. After
// each delivered push it syncs again, which moves the cursor past the push
// and catches anything whose push was lost. caughtUp says the first sync
// completed.
func (c *Client) serve(ctx context.Context, sess *Session) (caughtUp bool, err error) {
	if err := c.syncAll(ctx, sess); err != nil {
		return false, err
	}
	c.status(Status{Connected: true, CaughtUp: true, Unread: sess.ConnectAck().UnreadNotifications})
	needSync := false
	for {
		if needSync {
			// Take whatever is already queued first, so one sync covers a
			// burst of pushes.
			select {
			case ev := <-sess.Events():
				if needSync, err = c.handle(ev, needSync); err != nil {
					return true, err
				}
				continue
			default:
			}
			if err := c.syncAll(ctx, sess); err != nil {
				return true, err
			}
			needSync = false
			continue
		}
		select {
		case ev := <-sess.Events():
			if needSync, err = c.handle(ev, needSync); err != nil {
				return true, err
			}
		case <-sess.Done():
			return true, sess.Err()
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}

// handle processes one event and says whether a sync is now due.
func (c *Client) handle(ev Event, needSync bool) (bool, error) {
	switch {
	case ev.Push != nil:
		p := ev.Push
		if !c.tr.isNew(p.ID, p.Cursor) {
			return needSync, nil
		}
		n := Notification{
			ID: p.ID, Type: p.Type, AccountID: p.AccountID, AccountName: p.AccountName, Title: p.Title,
			Content: p.Content, RelatedID: p.RelatedID, CreatedAt: p.CreatedAt.Time(), Cursor: p.Cursor, Live: true,
		}
		if err := c.cfg.OnNotification(n); err != nil {
			return needSync, &stopError{err}
		}
		c.tr.pushed(p.ID, p.Cursor, int64(p.CreatedAt))
		if err := c.save(); err != nil {
			return needSync, err
		}
		return true, nil
	case ev.ReadBy != nil:
		if c.cfg.OnReadBy != nil {
			c.cfg.OnReadBy(*ev.ReadBy)
		}
	case ev.AccountUpdate != nil:
		if c.cfg.OnAccountUpdate != nil {
			c.cfg.OnAccountUpdate(*ev.AccountUpdate)
		}
	}
	return needSync, nil
}

// syncAll asks for everything after the cursor, page by page, delivering
// what is new and saving the state after each delivery.
func (c *Client) syncAll(ctx context.Context, sess *Session) error {
	for {
		st := c.tr.state()
		resp, err := sess.Sync(ctx, protocol.SyncRequest{
			Cursor: protocol.ID(st.Cursor), LastSyncTime: protocol.Timestamp(st.LastSyncTime), Limit: c.cfg.SyncPageSize,
		})
		if err != nil {
			return fmt.Errorf("syncing: %w", err)
		}
		for _, sn := range resp.Notifications {
			if c.tr.isNew(sn.ID, sn.Cursor) {
				err := c.cfg.OnNotification(Notification{
					ID: sn.ID, Type: sn.Type, AccountID: sn.AccountID, AccountName: sn.AccountName, Title: sn.Title,
					Content: sn.Content, RelatedID: sn.RelatedID, CreatedAt: sn.CreatedAt.Time(), Read: sn.Read, Cursor: sn.Cursor,
				})
				if err != nil {
					return &stopError{err}
				}
			}
			c.tr.synced(sn.ID, sn.Cursor, int64(sn.CreatedAt))
			if err := c.save(); err != nil {
				return err
			}
		}
		c.tr.synced("", resp.Cursor, 0)
		if err := c.save(); err != nil {
			return err
		}
		// A page that moved nothing cannot be followed by a different one.
		if !resp.HasMore || c.tr.state().Cursor == st.Cursor {
			return nil
		}
	}
}

// save writes the state; a failure stops Run, since a cursor that is not
// kept would repeat notifications after a restart.
func (c *Client) save() error {
	if err := c.cfg.State.Save(c.tr.state()); err != nil {
		return &stopError{fmt.Errorf("saving the cursor: %w", err)}
	}
	return nil
}

// backoff returns the delay before reconnect attempt n (from 0): doubling
// from lo up to hi, with "equal jitter" (half fixed, half random) so that
// many clients cut off together do not come back together.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := hi
	if n < 32 {
		if x := lo << n; x > 0 && x < hi {
			d = x
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
