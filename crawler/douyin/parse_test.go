package douyin

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/protocol"
)

// bareMonitor is a monitor with defaults and no browser, for the pure
// parts.
func bareMonitor(t *testing.T, uid string, cutoff time.Time) *monitor {
	t.Helper()
	cfg, err := (&Config{DataDir: t.TempDir(), Logger: testLogger()}).withDefaults()
	require.NoError(t, err)
	f := &Factory{cfg: cfg, log: cfg.Logger}
	m := newMonitor(f, crawler.Account{ID: "a", PlatformAccountID: uid, AssignedAt: time.Now()}, Credentials{}, &recSink{})
	m.cutoff = cutoff
	return m
}

func TestClassifyNotice(t *testing.T) {
	m := bareMonitor(t, "1", time.Time{})
	for _, tc := range []struct {
		name    string
		r       response
		wantTyp string
	}{
		{"ok", response{status: 200, body: []byte(`{"status_code":0,"notice_list_v2":[]}`)}, ""},
		{"not logged in", response{status: 200, body: []byte(`{"status_code":8}`)}, protocol.ErrorTypeAuthFailed},
		{"other status", response{status: 200, body: []byte(`{"status_code":2154}`)}, protocol.ErrorTypeRateLimited},
		{"empty body", response{status: 200, body: []byte(" ")}, protocol.ErrorTypeRateLimited},
		{"html body", response{status: 200, body: []byte("<html>")}, protocol.ErrorTypeRateLimited},
		{"no status", response{status: 200, body: []byte(`{}`)}, protocol.ErrorTypeRateLimited},
		{"captcha header", response{status: 200, headers: map[string]string{"x-vc-bdturing-parameters": "{}"},
			body: []byte(`{"status_code":0}`)}, protocol.ErrorTypeRateLimited},
		{"bdturing-verify", response{status: 200, headers: map[string]string{"bdturing-verify": "1"}}, protocol.ErrorTypeRateLimited},
		{"whale header", response{status: 200, headers: map[string]string{"x-whale-throughput-abort-data": "{}"}}, protocol.ErrorTypeRateLimited},
		{"failed request", response{err: assert.AnError}, protocol.ErrorTypeNetworkError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cerr := m.classifyNotice(tc.r)
			if tc.wantTyp == "" {
				assert.Nil(t, cerr)
				return
			}
			require.NotNil(t, cerr)
			assert.Equal(t, tc.wantTyp, cerr.typ)
		})
	}
}

func TestIsLoginURL(t *testing.T) {
	m := bareMonitor(t, "1", time.Time{})
	assert.True(t, m.isLoginURL("https://www.douyin.com/passport/web/login/?redirect_url=%2F"))
	assert.True(t, m.isLoginURL("https://creator.douyin.com/creator-micro/login"))
	assert.False(t, m.isLoginURL("https://www.douyin.com/?next=login"), "the query does not count")
	assert.False(t, m.isLoginURL("https://www.douyin.com/"))
}

func TestNewComments(t *testing.T) {
	now := time.Now()
	m := bareMonitor(t, "100", now.Add(-time.Minute))
	feed := `{"status_code":0,"notice_list_v2":[
	 {"nid":"1","type":31,"create_time":%NOW%,"comment":{"comment":{"cid":"7400000000000000001","text":"好","create_time":%NOW%,"aweme_id":"7300000000000000001","user":{"uid":"200","nickname":"粉丝"}},"aweme":{"aweme_id":"7300000000000000001","desc":"视频"}}},
	 {"nid":"2","type":31,"create_time":%NOW%,"comment":{"comment":{"cid":7400000000000000002,"text":"大数字","create_time":%NOW%,"aweme_id":7300000000000000001,"user":{"uid":201,"nickname":"数字"}},"aweme":{"desc":"视频"}}},
	 {"nid":"3","type":31,"create_time":%NOW%,"comment":{"comment":{"cid":"3","text":"作者","create_time":%NOW%,"label_text":"作者","user":{"uid":"999"}},"aweme":{}}},
	 {"nid":"4","type":31,"create_time":%NOW%,"comment":{"comment":{"cid":"4","text":"自己","create_time":%NOW%,"user":{"uid":"100"}},"aweme":{}}},
	 {"nid":"5","type":32,"create_time":%NOW%,"comment":{"comment":{"cid":"5","text":"@","create_time":%NOW%,"user":{"uid":"200"}},"aweme":{}}},
	 {"nid":"6","type":31,"create_time":%OLD%,"comment":{"comment":{"cid":"6","text":"旧","create_time":%OLD%,"user":{"uid":"200"}},"aweme":{}}},
	 {"nid":"7","type":31,"create_time":%NOWMS%,"comment":{"comment":{"cid":"7","text":"毫秒","create_time":%NOWMS%,"user":{"uid":"200"}},"aweme":{}}},
	 {"nid":"8","type":31,"create_time":%NOW%}
	]}`
	r := strings.NewReplacer("%NOWMS%", itoa(now.UnixMilli()), "%NOW%", itoa(now.Unix()), "%OLD%", itoa(now.Add(-time.Hour).Unix()))
	f, cerr := m.classifyNotice(response{body: []byte(r.Replace(feed))})
	require.Nil(t, cerr)
	dets, ids := m.newComments(f)
	assert.Equal(t, []string{"7400000000000000001", "7400000000000000002", "7"}, ids)
	require.Len(t, dets, 3)
	assert.Equal(t, protocol.MessageData{
		ID: "dy-cmt-7400000000000000001", PlatformCommentID: "7400000000000000001", Content: "好",
		AuthorName: "粉丝", AuthorID: "200", PostID: "7300000000000000001", PostTitle: "视频",
		CreatedAt: protocol.Timestamp(now.Unix()),
	}, dets[0].Data)
	assert.Equal(t, protocol.ID("7400000000000000002"), dets[1].Data.PlatformCommentID, "big numeric ids keep their digits")
	assert.Equal(t, protocol.ID("201"), dets[1].Data.AuthorID)
	assert.Equal(t, protocol.Timestamp(now.Unix()), dets[2].Data.CreatedAt, "milliseconds become seconds")
}

// itoa formats an int64.
func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }

func TestMapDM(t *testing.T) {
	now := time.Now()
	m := bareMonitor(t, "100", now.Add(-time.Minute))
	text := func(s string, awe int) string {
		b, _ := json.Marshal(messageContent{Text: s, AweType: awe})
		return string(b)
	}
	ms := now.UnixMilli()
	for _, tc := range []struct {
		name string
		msg  probeMessage
		ok   bool
	}{
		{"fan text", probeMessage{ID: "1", Sender: "200", Type: 7, Content: text("你好", 0), CreatedAt: ms, Nickname: "粉丝", ConversationID: "0:1:100:200"}, true},
		{"type 1 text", probeMessage{ID: "2", Sender: "200", Type: 1, Content: text("嗨", 0), CreatedAt: ms}, true},
		{"from me", probeMessage{ID: "3", Sender: "200", Type: 7, Content: text("我", 0), CreatedAt: ms, IsFromMe: true}, false},
		{"own uid", probeMessage{ID: "4", Sender: "100", Type: 7, Content: text("我", 0), CreatedAt: ms}, false},
		{"system", probeMessage{ID: "5", Sender: "200", Type: 7, Content: text("系统", 701), CreatedAt: ms}, false},
		{"image", probeMessage{ID: "6", Sender: "200", Type: 27, Content: text("", 0), CreatedAt: ms}, false},
		{"old", probeMessage{ID: "7", Sender: "200", Type: 7, Content: text("旧", 0), CreatedAt: now.Add(-time.Hour).UnixMilli()}, false},
		{"bad content", probeMessage{ID: "8", Sender: "200", Type: 7, Content: "{", CreatedAt: ms}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := m.mapDM(tc.msg)
			assert.Equal(t, tc.ok, ok)
			if ok {
				assert.Equal(t, protocol.MessageTypeDirectMessage, d.MessageType)
				assert.Equal(t, "dy-dm-"+tc.msg.ID, d.Data.ID)
				assert.Equal(t, protocol.Timestamp(now.Unix()), d.Data.CreatedAt)
				assert.Equal(t, protocol.ID(tc.msg.Sender), d.Data.SenderID)
				assert.Equal(t, d.Data.SenderID, d.Data.AuthorID)
			}
		})
	}
}

func TestChangedCookies(t *testing.T) {
	base := Credentials{Cookies: []Cookie{
		{Name: "sessionid", Value: "s", Domain: "d", Path: "/"},
		{Name: "msToken", Value: "m1", Domain: "d", Path: "/", Expires: 1},
	}, LocalStorage: map[string]string{"xmst": "x"}}
	same := base
	same.Cookies = []Cookie{base.Cookies[1], base.Cookies[0]}
	same.Cookies[0].Expires = 2
	assert.Empty(t, changedCookies(base, same), "order and expiry do not count")

	rolled := Credentials{Cookies: []Cookie{base.Cookies[0], {Name: "msToken", Value: "m2", Domain: "d", Path: "/"}},
		LocalStorage: base.LocalStorage}
	assert.Equal(t, []string{"msToken"}, changedCookies(base, rolled))
	gone := Credentials{Cookies: base.Cookies[1:], LocalStorage: map[string]string{"xmst": "y"}}
	assert.Equal(t, []string{"localStorage", "sessionid"}, changedCookies(base, gone))
}

func TestCredentialsRoundTrip(t *testing.T) {
	_, err := ParseCredentials([]byte(`{"cookies":[]}`))
	assert.Error(t, err)
	c, err := ParseCredentials([]byte(`{"cookies":[{"name":"sessionid","value":"v","domain":".douyin.com","path":"/",
		"expires":1801601336,"httpOnly":true,"secure":true,"session":false,"sameSite":"None"}],"localStorage":{"xmst":"x"}}`))
	require.NoError(t, err)
	ps := c.cookieParams()
	require.Len(t, ps, 1)
	assert.True(t, ps[0].HTTPOnly)
	assert.Equal(t, ".douyin.com", ps[0].Domain)
	assert.EqualValues(t, 1801601336, ps[0].Expires)
	assert.EqualValues(t, "None", ps[0].SameSite)
	assert.Equal(t, time.Unix(1801601336, 0), c.expiresAt("sessionid"))
	assert.True(t, c.expiresAt("msToken").IsZero())
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"":                         DefaultWWWOrigin,
		"http://127.0.0.1:8080/":   "http://127.0.0.1:8080",
		"https://www.douyin.com":   "https://www.douyin.com",
		"ftp://x":                  "",
		"https://www.douyin.com/x": "",
		"www.douyin.com":           "",
	} {
		got, err := origin(in, DefaultWWWOrigin)
		if want == "" {
			assert.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
}

func TestProbeScriptCarriesProfile(t *testing.T) {
	p := DefaultProfile()
	s, err := probeScript(p, "https://www.douyin.com", map[string]string{"xmst": `a"b`}, 250)
	require.NoError(t, err)
	assert.NotContains(t, s, "__CONFIG__")
	for _, want := range []string{`"converSationListOrigin"`, `"msgListToPush"`, `"__reactFiber$"`, `"__twInbox"`, `"intervalMs":250`, `"xmst":"a\"b"`} {
		assert.Contains(t, s, want)
	}
}

func TestSeenStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seen.db")
	s, err := openSeen(ctx, path)
	require.NoError(t, err)
	now := time.Now()
	require.NoError(t, s.add(ctx, "a", kindComment, []string{"1", "2"}, now.Add(-48*time.Hour)))
	require.NoError(t, s.add(ctx, "a", kindComment, []string{"2", "3"}, now))
	got, err := s.filterUnseen(ctx, "a", kindComment, []string{"1", "2", "3", "4"})
	require.NoError(t, err)
	assert.Equal(t, []string{"4"}, got)
	got, err = s.filterUnseen(ctx, "b", kindComment, []string{"1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"1"}, got, "per account")
	got, err = s.filterUnseen(ctx, "a", kindDM, []string{"1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"1"}, got, "per kind")
	require.NoError(t, s.Close())

	s, err = openSeen(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	n, err := s.prune(ctx, now.Add(-24*time.Hour))
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "an id keeps the time it was first seen")
	got, err = s.filterUnseen(ctx, "a", kindComment, []string{"1", "2", "3"})
	require.NoError(t, err)
	assert.Equal(t, []string{"1", "2"}, got, "survives reopening; pruned ids are forgotten")
}
