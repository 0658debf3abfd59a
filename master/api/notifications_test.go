package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master/store"
)

// notificationFixture is a store with notifications of two users.
type notificationFixture struct {
	e                    *env
	xTok, yTok, adminTok string
	ax1, ax2, ay         string
	start                time.Time
	byAccount            map[string][]string // notification ids, oldest first
}

// newNotificationFixture ingests 6 notifications on x's first account, 2 on
// x's second and 3 on y's, ten seconds apart, and marks some read by x.
func newNotificationFixture(t *testing.T) *notificationFixture {
	e := newEnv(t)
	f := &notificationFixture{e: e, byAccount: map[string][]string{}}
	x, xTok := e.user("xavier", false)
	_, yTok := e.user("yolanda", false)
	_, adminTok := e.user("root", true)
	f.xTok, f.yTok, f.adminTok = xTok, yTok, adminTok
	f.ax1 = e.createAccount(xTok, map[string]any{"platform": "douyin", "account_id": "x1"}).ID
	f.ax2 = e.createAccount(xTok, map[string]any{"platform": "douyin", "account_id": "x2"}).ID
	f.ay = e.createAccount(yTok, map[string]any{"platform": "douyin", "account_id": "y1"}).ID

	ctx := context.Background()
	f.start = e.clock.now()
	i := 0
	ingest := func(account string, n int) {
		for range n {
			e.clock.advance(10 * time.Second)
			typ := store.MessageComment
			if i%2 == 1 {
				typ = store.MessageDirectMessage
			}
			nt, dup, err := e.st.IngestMessage(ctx, store.Message{
				AccountID: account, MessageType: typ, PlatformID: fmt.Sprintf("p%d", i), Content: "hi",
			}, store.Notification{Title: "新评论", Content: fmt.Sprintf("n%d", i)})
			require.NoError(t, err)
			require.False(t, dup)
			f.byAccount[account] = append(f.byAccount[account], nt.ID)
			i++
		}
	}
	ingest(f.ax1, 6)
	ingest(f.ax2, 2)
	ingest(f.ay, 3)
	for _, id := range []string{f.byAccount[f.ax1][0], f.byAccount[f.ax1][3], f.byAccount[f.ax2][1]} {
		_, _, err := e.st.MarkRead(ctx, store.Viewer{UserID: x.ID}, id)
		require.NoError(t, err)
	}
	return f
}

// list fetches one page.
func (f *notificationFixture) list(t *testing.T, tok string, q url.Values) notificationList {
	t.Helper()
	res := f.e.do(http.MethodGet, "/api/v1/notifications?"+q.Encode(), tok, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var out notificationList
	res.decode(t, &out)
	return out
}

// ids returns the ids of a page.
func ids(l notificationList) []string {
	out := []string{}
	for _, n := range l.Notifications {
		out = append(out, n.ID)
	}
	return out
}

// reversed returns the concatenation of the lists, newest first.
func reversed(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	out := make([]string, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		out = append(out, all[i])
	}
	return out
}

func TestNotificationsVisibilityAndFilters(t *testing.T) {
	f := newNotificationFixture(t)
	ax1, ax2, ay := f.byAccount[f.ax1], f.byAccount[f.ax2], f.byAccount[f.ay]
	secs := func(n int) string { return strconv.FormatInt(f.start.Add(time.Duration(n)*10*time.Second).Unix(), 10) }
	millis := func(n int) string {
		return strconv.FormatInt(f.start.Add(time.Duration(n)*10*time.Second).UnixMilli(), 10)
	}

	tests := []struct {
		name  string
		token string
		query url.Values
		want  []string
	}{
		{"x sees own only", f.xTok, nil, reversed(ax1, ax2)},
		{"y sees own only", f.yTok, nil, reversed(ay)},
		{"admin sees all", f.adminTok, nil, reversed(ax1, ax2, ay)},
		{"by account", f.xTok, url.Values{"account_id": {f.ax2}}, reversed(ax2)},
		{"someone else's account", f.xTok, url.Values{"account_id": {f.ay}}, []string{}},
		{"comments", f.xTok, url.Values{"type": {"comment"}}, []string{ax2[0], ax1[4], ax1[2], ax1[0]}},
		{"direct messages", f.xTok, url.Values{"type": {"direct_message"}}, []string{ax2[1], ax1[5], ax1[3], ax1[1]}},
		{"read", f.xTok, url.Values{"read": {"true"}}, []string{ax2[1], ax1[3], ax1[0]}},
		{"unread", f.xTok, url.Values{"read": {"false"}}, []string{ax2[0], ax1[5], ax1[4], ax1[2], ax1[1]}},
		{"y has read nothing", f.yTok, url.Values{"read": {"true"}}, []string{}},
		// Notification k (1-based) was created at start + 10k seconds.
		{"since seconds", f.xTok, url.Values{"since": {secs(7)}}, []string{ax2[1], ax2[0]}},
		{"until seconds", f.xTok, url.Values{"until": {secs(3)}}, []string{ax1[1], ax1[0]}},
		{"since and until in ms", f.xTok, url.Values{"since": {millis(3)}, "until": {millis(5)}}, []string{ax1[3], ax1[2]}},
		{"combined", f.xTok, url.Values{"account_id": {f.ax1}, "type": {"comment"}, "read": {"false"}}, []string{ax1[4], ax1[2]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := f.list(t, tt.token, tt.query)
			assert.Equal(t, tt.want, ids(out))
			assert.False(t, out.HasMore)
			assert.Empty(t, out.NextCursor)
		})
	}

	t.Run("fields", func(t *testing.T) {
		out := f.list(t, f.xTok, url.Values{"account_id": {f.ax1}, "limit": {"6"}})
		require.Len(t, out.Notifications, 6)
		n := out.Notifications[5]
		assert.Equal(t, ax1[0], n.ID)
		assert.Equal(t, "comment", n.Type)
		assert.Equal(t, f.ax1, n.AccountID)
		assert.Equal(t, "新评论", n.Title)
		assert.Equal(t, "n0", n.Content)
		assert.Equal(t, f.start.Add(10*time.Second).Unix(), n.CreatedAt)
		assert.True(t, n.Read)
		assert.False(t, out.Notifications[4].Read)
	})
}

func TestNotificationsCursorPaging(t *testing.T) {
	f := newNotificationFixture(t)
	all := reversed(f.byAccount[f.ax1], f.byAccount[f.ax2], f.byAccount[f.ay])
	for _, limit := range []int{1, 3, 4, 11, 50} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			var got []string
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for pages := 0; ; pages++ {
				require.Less(t, pages, 20, "paging does not end")
				out := f.list(t, f.adminTok, q)
				assert.LessOrEqual(t, len(out.Notifications), limit)
				got = append(got, ids(out)...)
				if !out.HasMore {
					assert.Empty(t, out.NextCursor)
					break
				}
				require.NotEmpty(t, out.NextCursor)
				q.Set("cursor", out.NextCursor)
			}
			assert.Equal(t, all, got)
		})
	}

	t.Run("cursor with filters", func(t *testing.T) {
		out := f.list(t, f.xTok, url.Values{"limit": {"2"}, "type": {"comment"}})
		assert.True(t, out.HasMore)
		out2 := f.list(t, f.xTok, url.Values{"limit": {"2"}, "type": {"comment"}, "cursor": {out.NextCursor}})
		ax1 := f.byAccount[f.ax1]
		assert.Equal(t, []string{ax1[2], ax1[0]}, ids(out2))
		assert.False(t, out2.HasMore)
	})

	t.Run("default page is 50", func(t *testing.T) {
		ctx := context.Background()
		for i := range 60 {
			_, _, err := f.e.st.IngestMessage(ctx, store.Message{
				AccountID: f.ay, MessageType: store.MessageComment, PlatformID: fmt.Sprintf("more%d", i),
			}, store.Notification{Title: "t"})
			require.NoError(t, err)
		}
		out := f.list(t, f.yTok, nil)
		assert.Len(t, out.Notifications, 50)
		assert.True(t, out.HasMore)
	})
}

func TestNotificationsBadQueries(t *testing.T) {
	e := newEnv(t)
	_, tok := e.user("alice", false)
	tests := []struct {
		query   string
		wantMsg string
	}{
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"limit=ten", "limit"},
		{"cursor=abc", "cursor"},
		{"cursor=0", "cursor"},
		{"cursor=-4", "cursor"},
		{"since=yesterday", "since"},
		{"since=-1", "since"},
		{"until=1.5", "until"},
		{"read=maybe", "read"},
		{"type=like", "type"},
		{"account_id=" + strings.Repeat("a", 200), "account_id"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res := e.do(http.MethodGet, "/api/v1/notifications?"+tt.query, tok, nil)
			assert.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
			assert.Equal(t, "ERR_INVALID_PAYLOAD", res.errCode())
			assert.Contains(t, res.errMessage(), tt.wantMsg)
		})
	}
	res := e.do(http.MethodGet, "/api/v1/notifications?limit=500", tok, nil)
	assert.Equal(t, http.StatusOK, res.status)
	var out notificationList
	res.decode(t, &out)
	assert.NotNil(t, out.Notifications, "an empty list is [] not null")
	assert.Contains(t, string(res.body), `"notifications":[]`)
}
