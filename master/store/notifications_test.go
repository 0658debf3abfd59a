package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIngestMessage(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	a := mustAccount(t, s, "", "dy1")

	m := Message{
		AccountID: a.ID, MessageType: MessageComment, PlatformID: "7300000000000000001", WorkerMessageID: "cmt-001",
		Content: "好棒的视频!", AuthorName: "用户A", AuthorID: "user123", PostID: "video789", PostTitle: "我的最新视频",
		CreatedAt: time.Unix(1697000000, 0), Raw: []byte(`{"platform_comment_id":"7300000000000000001"}`),
	}
	n, dup, err := s.IngestMessage(ctx, m, Notification{Title: "新评论", Content: "用户A: 好棒的视频!"})
	require.NoError(t, err)
	assert.False(t, dup)
	assert.Regexp(t, `^ntf-[0-9a-f]{16}$`, n.ID)
	assert.Positive(t, n.Seq)
	assert.Equal(t, a.ID, n.AccountID)
	assert.Equal(t, a.Name, n.AccountName, "defaults to the account's name")
	assert.Equal(t, MessageComment, n.Type, "defaults to the message type")
	assert.Equal(t, "cmt-001", n.RelatedID, "defaults to the worker's message id")
	assert.Equal(t, env.clock.now(), n.CreatedAt)
	assert.False(t, n.Read)

	// The same message again (e.g. a resend after a lost ack): nothing new.
	env.clock.advance(time.Minute)
	again, dup, err := s.IngestMessage(ctx, m, Notification{Title: "other", Content: "other"})
	require.NoError(t, err)
	assert.True(t, dup)
	assert.Equal(t, n, again)

	// Same platform id as a direct message is a different item.
	dm := m
	dm.MessageType = MessageDirectMessage
	n2, dup, err := s.IngestMessage(ctx, dm, Notification{Type: "dm", AccountName: "given", RelatedID: "r", Title: "私信"})
	require.NoError(t, err)
	assert.False(t, dup)
	assert.Greater(t, n2.Seq, n.Seq)
	assert.Equal(t, "dm", n2.Type)
	assert.Equal(t, "given", n2.AccountName)
	assert.Equal(t, "r", n2.RelatedID)

	var (
		stored  Message
		created int64
		raw     string
	)
	require.NoError(t, s.rdb.QueryRowContext(ctx, `SELECT content, author_name, post_title, created_at, raw
		FROM messages WHERE message_type = 'comment'`).Scan(&stored.Content, &stored.AuthorName, &stored.PostTitle, &created, &raw))
	assert.Equal(t, m.Content, stored.Content)
	assert.Equal(t, m.AuthorName, stored.AuthorName)
	assert.Equal(t, m.PostTitle, stored.PostTitle)
	assert.Equal(t, m.CreatedAt.UnixNano(), created)
	assert.JSONEq(t, string(m.Raw), raw)

	// A duplicate whose notification is gone (pruned between the two
	// batched deletes) is still a duplicate and still acknowledgeable.
	_, err = s.wdb.ExecContext(ctx, "DELETE FROM notifications WHERE id = ?", n.ID)
	require.NoError(t, err)
	gone, dup, err := s.IngestMessage(ctx, m, Notification{})
	require.NoError(t, err)
	assert.True(t, dup)
	assert.Empty(t, gone.ID)
	assert.Equal(t, "cmt-001", gone.RelatedID)

	tests := []struct {
		name    string
		m       Message
		wantErr error
	}{
		{name: "unknown account", m: Message{AccountID: "acc-none", MessageType: MessageComment, PlatformID: "1"}, wantErr: ErrNotFound},
		{name: "bad type", m: Message{AccountID: a.ID, MessageType: "like", PlatformID: "1"}, wantErr: ErrInvalid},
		{name: "no platform id", m: Message{AccountID: a.ID, MessageType: MessageComment}, wantErr: ErrInvalid},
		{name: "no account", m: Message{MessageType: MessageComment, PlatformID: "1"}, wantErr: ErrInvalid},
		{name: "bad raw", m: Message{AccountID: a.ID, MessageType: MessageComment, PlatformID: "1", Raw: []byte("{")}, wantErr: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.IngestMessage(ctx, tc.m, Notification{})
			assert.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestIngestMessage_ConcurrentDedupe(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	a := mustAccount(t, s, "", "dy1")

	const goroutines = 8
	var (
		wg      sync.WaitGroup
		results = make([]Notification, goroutines)
		dups    = make([]bool, goroutines)
		errs    = make([]error, goroutines)
		start   = make(chan struct{})
	)
	for i := range goroutines {
		wg.Go(func() {
			<-start
			results[i], dups[i], errs[i] = s.IngestMessage(ctx, Message{
				AccountID: a.ID, MessageType: MessageComment, PlatformID: "same", WorkerMessageID: "cmt-1",
			}, Notification{Title: fmt.Sprint("from ", i)})
		})
	}
	close(start)
	wg.Wait()

	fresh := 0
	for i := range goroutines {
		require.NoError(t, errs[i])
		if !dups[i] {
			fresh++
		}
		assert.Equal(t, results[0].ID, results[i].ID, "every caller gets the one notification")
	}
	assert.Equal(t, 1, fresh)

	var count int
	require.NoError(t, s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM notifications").Scan(&count))
	assert.Equal(t, 1, count)
}

func TestNotificationVisibility(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	admin := mustUser(t, s, "root", true)
	x := mustUser(t, s, "x", false)
	y := mustUser(t, s, "y", false)
	ax := mustAccount(t, s, x.ID, "x1")
	ay := mustAccount(t, s, y.ID, "y1")
	ao := mustAccount(t, s, "", "o1")

	nx := mustIngest(t, s, ax.ID, "1")
	ny := mustIngest(t, s, ay.ID, "1")
	no := mustIngest(t, s, ao.ID, "1")

	vAdmin, vX, vY := Viewer{UserID: admin.ID, Admin: true}, Viewer{UserID: x.ID}, Viewer{UserID: y.ID}
	tests := []struct {
		name string
		v    Viewer
		want []string
	}{
		{name: "admin", v: vAdmin, want: []string{nx.ID, ny.ID, no.ID}},
		{name: "x", v: vX, want: []string{nx.ID}},
		{name: "y", v: vY, want: []string{ny.ID}},
		{name: "stranger", v: Viewer{UserID: "usr-none"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after, more, err := s.NotificationsAfter(ctx, tc.v, time.Time{}, 0, 0)
			require.NoError(t, err)
			assert.False(t, more)
			assert.Equal(t, tc.want, notificationIDs(after))

			list, _, err := s.ListNotifications(ctx, tc.v, NotificationFilter{})
			require.NoError(t, err)
			assert.Equal(t, reversed(tc.want), notificationIDs(list))

			unread, err := s.UnreadCount(ctx, tc.v)
			require.NoError(t, err)
			assert.Equal(t, len(tc.want), unread)
		})
	}

	// x cannot mark (or learn about) y's notification.
	_, _, err := s.MarkRead(ctx, vX, ny.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	_, _, err = s.MarkRead(ctx, vX, "ntf-none")
	assert.ErrorIs(t, err, ErrNotFound)
	list, _, err := s.ListNotifications(ctx, vX, NotificationFilter{AccountID: ay.ID})
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestMarkRead(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	admin := mustUser(t, s, "root", true)
	x := mustUser(t, s, "x", false)
	a := mustAccount(t, s, x.ID, "x1")
	n1 := mustIngest(t, s, a.ID, "1")
	n2 := mustIngest(t, s, a.ID, "2")
	vX, vAdmin := Viewer{UserID: x.ID}, Viewer{UserID: admin.ID, Admin: true}

	got, changed, err := s.MarkRead(ctx, vX, n1.ID)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.True(t, got.Read)
	assert.Equal(t, n1.Seq, got.Seq)

	// Idempotent.
	got, changed, err = s.MarkRead(ctx, vX, n1.ID)
	require.NoError(t, err)
	assert.False(t, changed)
	assert.True(t, got.Read)

	// Read state is per user: the admin has not read it.
	unread, err := s.UnreadCount(ctx, vX)
	require.NoError(t, err)
	assert.Equal(t, 1, unread)
	unread, err = s.UnreadCount(ctx, vAdmin)
	require.NoError(t, err)
	assert.Equal(t, 2, unread)

	after, _, err := s.NotificationsAfter(ctx, vX, time.Time{}, 0, 10)
	require.NoError(t, err)
	require.Len(t, after, 2)
	assert.True(t, after[0].Read)
	assert.False(t, after[1].Read)

	after, _, err = s.NotificationsAfter(ctx, vAdmin, time.Time{}, 0, 10)
	require.NoError(t, err)
	require.Len(t, after, 2)
	assert.False(t, after[0].Read)

	readTrue, readFalse := true, false
	list, _, err := s.ListNotifications(ctx, vX, NotificationFilter{Read: &readTrue})
	require.NoError(t, err)
	assert.Equal(t, []string{n1.ID}, notificationIDs(list))
	list, _, err = s.ListNotifications(ctx, vX, NotificationFilter{Read: &readFalse})
	require.NoError(t, err)
	assert.Equal(t, []string{n2.ID}, notificationIDs(list))

	_, _, err = s.MarkRead(ctx, Viewer{Admin: true}, n1.ID)
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestNotificationsAfter_PagingSameSecond(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	x := mustUser(t, s, "x", false)
	y := mustUser(t, s, "y", false)
	ax := mustAccount(t, s, x.ID, "x1")
	ay := mustAccount(t, s, y.ID, "y1")

	// 25 notifications for x, interleaved with y's, all in the same second
	// (and many at the very same instant).
	var want []string
	for i := range 25 {
		want = append(want, mustIngest(t, s, ax.ID, fmt.Sprint(i)).ID)
		mustIngest(t, s, ay.ID, fmt.Sprint(i))
		if i%5 == 4 {
			env.clock.advance(time.Millisecond)
		}
	}

	var (
		got    []string
		cursor int64
		pages  int
	)
	for {
		page, more, err := s.NotificationsAfter(ctx, Viewer{UserID: x.ID}, time.Time{}, cursor, 4)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 4)
		for _, n := range page {
			assert.Greater(t, n.Seq, cursor)
			cursor = n.Seq
			got = append(got, n.ID)
		}
		pages++
		if !more {
			break
		}
		require.Less(t, pages, 20, "paging does not terminate")
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 7, pages)

	// Time bound: strictly after.
	first, _, err := s.NotificationsAfter(ctx, Viewer{UserID: x.ID}, time.Time{}, 0, 1)
	require.NoError(t, err)
	require.Len(t, first, 1)
	page, _, err := s.NotificationsAfter(ctx, Viewer{UserID: x.ID}, first[0].CreatedAt, 0, 100)
	require.NoError(t, err)
	assert.Len(t, page, 20, "the 5 created at the first instant are excluded")
	page, _, err = s.NotificationsAfter(ctx, Viewer{UserID: x.ID}, env.clock.now(), 0, 100)
	require.NoError(t, err)
	assert.Empty(t, page)

	// New notifications after the cursor appear on the next call.
	n := mustIngest(t, s, ax.ID, "late")
	page, more, err := s.NotificationsAfter(ctx, Viewer{UserID: x.ID}, time.Time{}, cursor, 4)
	require.NoError(t, err)
	assert.False(t, more)
	assert.Equal(t, []string{n.ID}, notificationIDs(page))
}

func TestListNotifications_Filters(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	admin := mustUser(t, s, "root", true)
	a := mustAccount(t, s, "", "a1")
	b := mustAccount(t, s, "", "b1")
	v := Viewer{UserID: admin.ID, Admin: true}

	t0 := env.clock.now()
	c1 := mustIngest(t, s, a.ID, "1")
	env.clock.advance(time.Hour)
	dm, _, err := s.IngestMessage(ctx, Message{AccountID: a.ID, MessageType: MessageDirectMessage, PlatformID: "d1"},
		Notification{Title: "私信"})
	require.NoError(t, err)
	env.clock.advance(time.Hour)
	c2 := mustIngest(t, s, b.ID, "2")

	tests := []struct {
		name     string
		f        NotificationFilter
		want     []string
		wantMore bool
	}{
		{name: "all newest first", f: NotificationFilter{}, want: []string{c2.ID, dm.ID, c1.ID}},
		{name: "account", f: NotificationFilter{AccountID: a.ID}, want: []string{dm.ID, c1.ID}},
		{name: "type", f: NotificationFilter{Type: MessageDirectMessage}, want: []string{dm.ID}},
		{name: "since", f: NotificationFilter{Since: t0.Add(time.Hour)}, want: []string{c2.ID, dm.ID}},
		{name: "until", f: NotificationFilter{Until: t0.Add(time.Hour)}, want: []string{c1.ID}},
		{name: "before seq", f: NotificationFilter{BeforeSeq: c2.Seq}, want: []string{dm.ID, c1.ID}},
		{name: "limit", f: NotificationFilter{Limit: 2}, want: []string{c2.ID, dm.ID}, wantMore: true},
		{name: "page 2", f: NotificationFilter{Limit: 2, BeforeSeq: dm.Seq}, want: []string{c1.ID}},
		{name: "combined", f: NotificationFilter{AccountID: a.ID, Type: MessageComment, Since: t0}, want: []string{c1.ID}},
		{name: "nothing", f: NotificationFilter{AccountID: "acc-none"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, more, err := s.ListNotifications(ctx, v, tc.f)
			require.NoError(t, err)
			assert.Equal(t, tc.want, notificationIDs(list))
			assert.Equal(t, tc.wantMore, more)
		})
	}
}

func TestPrune(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	u := mustUser(t, s, "x", false)
	a := mustAccount(t, s, u.ID, "a1")
	v := Viewer{UserID: u.ID}

	// More than one batch of old rows.
	const old = pruneBatch + 20
	for i := range old {
		n := mustIngest(t, s, a.ID, fmt.Sprint("old-", i))
		if i%100 == 0 {
			_, _, err := s.MarkRead(ctx, v, n.ID)
			require.NoError(t, err)
		}
	}
	env.clock.advance(24 * time.Hour)
	cutoff := env.clock.now()
	keep := mustIngest(t, s, a.ID, "new")

	n, err := s.Prune(ctx, cutoff)
	require.NoError(t, err)
	assert.EqualValues(t, old, n)

	list, _, err := s.NotificationsAfter(ctx, v, time.Time{}, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{keep.ID}, notificationIDs(list))
	for table, want := range map[string]int{"messages": 1, "notifications": 1, "notification_reads": 0} {
		var got int
		require.NoError(t, s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&got))
		assert.Equal(t, want, got, table)
	}

	// Nothing more to prune; sequences are never reused.
	n, err = s.Prune(ctx, cutoff)
	require.NoError(t, err)
	assert.Zero(t, n)
	require.NoError(t, s.DeleteAccount(ctx, a.ID))
	a2 := mustAccount(t, s, u.ID, "a2")
	next := mustIngest(t, s, a2.ID, "x")
	assert.Greater(t, next.Seq, keep.Seq)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Prune(cctx, cutoff)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestPersistenceAcrossReopen(t *testing.T) {
	env := newTestStore(t)
	ctx := context.Background()
	u := mustUser(t, env.s, "x", false)
	a, err := env.s.CreateAccount(ctx, Account{OwnerID: u.ID, Platform: "douyin", PlatformAccountID: "a1"}, []byte("cookie"))
	require.NoError(t, err)
	n := mustIngest(t, env.s, a.ID, "1")
	_, _, err = env.s.MarkRead(ctx, Viewer{UserID: u.ID}, n.ID)
	require.NoError(t, err)
	require.NoError(t, env.s.Close())

	s := env.open(t)
	list, _, err := s.NotificationsAfter(ctx, Viewer{UserID: u.ID}, time.Time{}, 0, 0)
	require.NoError(t, err)
	n.Read = true
	assert.Equal(t, []Notification{n}, list)

	creds, err := s.AccountCredentials(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, "cookie", string(creds))

	_, dup, err := s.IngestMessage(ctx, Message{AccountID: a.ID, MessageType: MessageComment, PlatformID: "1"}, Notification{})
	require.NoError(t, err)
	assert.True(t, dup, "dedupe survives a restart")
}

// notificationIDs returns the ids of list in order.
func notificationIDs(list []Notification) []string {
	var ids []string
	for _, n := range list {
		ids = append(ids, n.ID)
	}

	return ids
}

// reversed returns a reversed copy of ids.
func reversed(ids []string) []string {
	var out []string
	for i := len(ids) - 1; i >= 0; i-- {
		out = append(out, ids[i])
	}

	return out
}
