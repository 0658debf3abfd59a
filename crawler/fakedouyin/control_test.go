package fakedouyin

import (
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// id19 matches the 64-bit ids of comments, videos and notices.
var id19 = regexp.MustCompile(`^[1-9][0-9]{18}$`)

func TestCreateAccountJar(t *testing.T) {
	s := startServer(t, nil)
	var info AccountInfo
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "accounts",
		AccountSpec{Nickname: "测试号", Videos: []Video{{Desc: "第一个作品"}}}, &info))

	assert.Equal(t, "测试号", info.Nickname)
	assert.NotEmpty(t, info.UID)
	assert.True(t, strings.HasPrefix(info.SecUID, "MS4wLjABAAAA"))
	require.Len(t, info.Videos, 1)
	assert.Regexp(t, id19, info.Videos[0].AwemeID)

	wantHTTPOnly := map[string]bool{
		CookieSessionID: true, CookieSessionIDSS: true, CookieSidTT: true, CookieSidGuard: true,
		CookieUIDTT: true, CookieCSRF: false, CookieTTWID: true, CookieMsToken: false,
		CookieOdinTT: true, CookieLoginStatus: false,
	}
	got := map[string]Cookie{}
	for _, c := range info.Credentials.Cookies {
		got[c.Name] = c
	}
	for name, httpOnly := range wantHTTPOnly {
		c, ok := got[name]
		if assert.True(t, ok, name) {
			assert.Equal(t, httpOnly, c.HTTPOnly, name)
			assert.Equal(t, "127.0.0.1", c.Domain, name)
			assert.Equal(t, "/", c.Path, name)
			assert.NotEmpty(t, c.Value, name)
			assert.Greater(t, c.Expires, float64(time.Now().Unix()), name)
		}
	}
	assert.Equal(t, "1", got[CookieLoginStatus].Value)
	assert.Equal(t, "1", info.Credentials.LocalStorage[LocalHasUserLogin])
	assert.NotEmpty(t, info.Credentials.LocalStorage[LocalXmst])

	// The jar's JSON uses CDP's network.Cookie field names.
	raw, err := json.Marshal(info.Credentials.Cookies[0])
	require.NoError(t, err)
	for _, field := range []string{`"name"`, `"value"`, `"domain"`, `"path"`, `"expires"`, `"httpOnly"`, `"secure"`} {
		assert.Contains(t, string(raw), field)
	}

	var again AccountInfo
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodGet, "accounts/"+info.UID, nil, &again))
	assert.Equal(t, info.UID, again.UID)
	var all []AccountInfo
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodGet, "accounts", nil, &all))
	assert.Len(t, all, 1)
	assert.Equal(t, http.StatusNotFound, controlCall(t, s, http.MethodGet, "accounts/123", nil, nil))
	assert.Equal(t, http.StatusNotFound, controlCall(t, s, http.MethodPost, "accounts/123/comments", CommentSpec{}, nil))
	assert.Equal(t, http.StatusBadRequest, controlCall(t, s, http.MethodPost, "accounts/"+info.UID+"/comments", "not an object", nil))
}

func TestNoticeDetail(t *testing.T) {
	s := startServer(t, nil)
	info, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)
	fan := &User{UID: "5550001", SecUID: "MS4wLjABAAAAfan", Nickname: "粉丝甲"}
	var first, mention, reply, own Comment
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "accounts/"+info.UID+"/comments",
		CommentSpec{Text: "第一条", Fan: fan, CreateTime: 1000}, &first))
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "accounts/"+info.UID+"/comments",
		CommentSpec{Text: "作者回复", FromCreator: true, ReplyTo: first.CID, CreateTime: 1001}, &own))
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "accounts/"+info.UID+"/comments",
		CommentSpec{Text: "@你", Kind: KindMention, CreateTime: 1002}, &mention))
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "accounts/"+info.UID+"/comments",
		CommentSpec{Text: "回复作者", ReplyTo: own.CID, CreateTime: 1003}, &reply))
	for _, c := range []Comment{first, own, mention, reply} {
		assert.Regexp(t, id19, c.CID)
	}
	assert.Equal(t, LabelAuthor, own.LabelText)
	assert.Equal(t, first.CID, own.ReplyID)

	resp, body := fetch(t, http.MethodGet, s.URL()+PathNoticeDetail+"?notice_group=700&count=10&msToken=x&a_bogus=y", &info.Credentials, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(body, &raw), string(body))
	for _, k := range []string{"status_code", "notice_list_v2", "has_more", "max_time", "min_time"} {
		assert.Contains(t, raw, k)
	}
	var feed struct {
		StatusCode   int   `json:"status_code"`
		HasMore      bool  `json:"has_more"`
		MaxTime      int64 `json:"max_time"`
		MinTime      int64 `json:"min_time"`
		NoticeListV2 []struct {
			NID        string `json:"nid"`
			Type       int    `json:"type"`
			CreateTime int64  `json:"create_time"`
			Comment    struct {
				Comment struct {
					CID        string `json:"cid"`
					Text       string `json:"text"`
					CreateTime int64  `json:"create_time"`
					AwemeID    string `json:"aweme_id"`
					User       User   `json:"user"`
				} `json:"comment"`
				Aweme Video `json:"aweme"`
			} `json:"comment"`
		} `json:"notice_list_v2"`
	}
	require.NoError(t, json.Unmarshal(body, &feed))
	assert.Equal(t, StatusOK, feed.StatusCode)
	require.Len(t, feed.NoticeListV2, 3, "the creator's own comment makes no notice")
	assert.Equal(t, []int{NoticeReply, NoticeMention, NoticeComment},
		[]int{feed.NoticeListV2[0].Type, feed.NoticeListV2[1].Type, feed.NoticeListV2[2].Type}, "newest first")
	last := feed.NoticeListV2[2]
	assert.Regexp(t, id19, last.NID)
	assert.Equal(t, first.CID, last.Comment.Comment.CID)
	assert.Equal(t, "第一条", last.Comment.Comment.Text)
	assert.Equal(t, *fan, last.Comment.Comment.User)
	assert.Equal(t, info.Videos[0], last.Comment.Aweme)
	assert.Equal(t, int64(1000), last.CreateTime)
	assert.False(t, feed.HasMore)
	assert.Equal(t, int64(1003), feed.MaxTime)
	assert.Equal(t, int64(1000), feed.MinTime)

	// Paging: count limits, max_time continues below the oldest seen.
	_, body = fetch(t, http.MethodGet, s.URL()+PathNoticeDetail+"?count=2", &info.Credentials, nil)
	require.NoError(t, json.Unmarshal(body, &feed))
	assert.Len(t, feed.NoticeListV2, 2)
	assert.True(t, feed.HasMore)
	_, body = fetch(t, http.MethodGet, s.URL()+PathNoticeDetail+"?count=2&max_time="+strconv.FormatInt(feed.MinTime, 10), &info.Credentials, nil)
	require.NoError(t, json.Unmarshal(body, &feed))
	require.Len(t, feed.NoticeListV2, 1)
	assert.Equal(t, first.CID, feed.NoticeListV2[0].Comment.Comment.CID)
	assert.False(t, feed.HasMore)

	// Without a session the API says status_code 8.
	_, body = fetch(t, http.MethodGet, s.URL()+PathNoticeDetail, nil, nil)
	assert.JSONEq(t, `{"status_code":8,"status_msg":"用户未登录"}`, string(body))
}

func TestCommentList(t *testing.T) {
	s := startServer(t, nil)
	info, err := s.CreateAccount(AccountSpec{Videos: []Video{{Desc: "a"}, {Desc: "b"}}})
	require.NoError(t, err)
	aweme := info.Videos[1].AwemeID
	var cids []string
	for i := range 12 {
		c, err := s.AddComment(info.UID, CommentSpec{AwemeID: aweme, CreateTime: int64(2000 + i), FromCreator: i == 11})
		require.NoError(t, err)
		cids = append(cids, c.CID)
	}
	_, err = s.AddComment(info.UID, CommentSpec{AwemeID: info.Videos[0].AwemeID})
	require.NoError(t, err)
	_, err = s.AddComment(info.UID, CommentSpec{AwemeID: "1"})
	assert.ErrorIs(t, err, ErrNotFound)

	url := s.URL() + PathCommentList + "?aweme_id=" + aweme + "&cursor=0&count=10&aid=2906"
	_, body := fetch(t, http.MethodGet, url, &info.Credentials, nil)
	var raw struct {
		StatusCode int              `json:"status_code"`
		Comments   []map[string]any `json:"comments"`
		Cursor     int              `json:"cursor"`
		HasMore    bool             `json:"has_more"`
		Total      int              `json:"total"`
	}
	require.NoError(t, json.Unmarshal(body, &raw), string(body))
	assert.Equal(t, StatusOK, raw.StatusCode)
	assert.Equal(t, 12, raw.Total)
	assert.Equal(t, 10, raw.Cursor)
	assert.True(t, raw.HasMore)
	require.Len(t, raw.Comments, 10)
	for _, k := range []string{"cid", "text", "aweme_id", "create_time", "reply_id", "reply_comment_total", "digg_count", "label_text", "ip_label", "user"} {
		assert.Contains(t, raw.Comments[0], k)
	}
	assert.Equal(t, cids[11], raw.Comments[0]["cid"], "newest first")
	assert.Equal(t, LabelAuthor, raw.Comments[0]["label_text"])
	assert.Equal(t, "", raw.Comments[1]["label_text"])
	user, _ := raw.Comments[0]["user"].(map[string]any)
	assert.Equal(t, info.UID, user["uid"])

	_, body = fetch(t, http.MethodGet, s.URL()+PathCommentList+"?aweme_id="+aweme+"&cursor=10&count=10", &info.Credentials, nil)
	require.NoError(t, json.Unmarshal(body, &raw))
	assert.Len(t, raw.Comments, 2)
	assert.False(t, raw.HasMore)
	assert.Equal(t, cids[0], raw.Comments[1]["cid"])
}

func TestIMSync(t *testing.T) {
	s := startServer(t, &Config{IMReplay: 2})
	info, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)
	peer := &User{UID: "99999999999", SecUID: "MS4wLjABAAAApeer", Nickname: "私信粉丝"}
	in, err := s.AddDM(info.UID, DMSpec{Text: "你好", Peer: peer})
	require.NoError(t, err)
	var own, sys Message
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "accounts/"+info.UID+"/dms", DMSpec{Text: "在的", Peer: peer, FromMe: true}, &own))
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "accounts/"+info.UID+"/dms", DMSpec{Peer: peer, System: true}, &sys))

	wantConv := "0:1:" + info.UID + ":" + peer.UID
	if info.UID > peer.UID {
		wantConv = "0:1:" + peer.UID + ":" + info.UID
	}
	assert.Equal(t, wantConv, in.ConversationID)
	assert.Equal(t, peer.UID, in.Sender)
	assert.Equal(t, peer.SecUID, in.SecSender)
	assert.Equal(t, MessageTypeText, in.Type)
	assert.JSONEq(t, `{"text":"你好","aweType":0}`, in.Content)
	assert.False(t, in.IsFromMe)
	id, err := strconv.ParseUint(in.ServerID, 10, 64)
	require.NoError(t, err)
	assert.Greater(t, id, uint64(1)<<53, "serverId needs 64 bits")
	assert.True(t, own.IsFromMe)
	assert.Equal(t, info.UID, own.Sender)
	assert.Contains(t, sys.Content, `"aweType":701`)

	var sync struct {
		StatusCode    int              `json:"status_code"`
		Conversations []Conversation   `json:"conversations"`
		Messages      []map[string]any `json:"messages"`
		Cursor        int              `json:"cursor"`
	}
	_, body := fetch(t, http.MethodGet, s.URL()+PathIMSync+"?cursor=0", &info.Credentials, nil)
	require.NoError(t, json.Unmarshal(body, &sync), string(body))
	require.Len(t, sync.Messages, 2, "a fresh page replays IMReplay recent messages")
	assert.Equal(t, own.ServerID, sync.Messages[0]["serverId"], "serverId stays a string")
	assert.IsType(t, "", sync.Messages[0]["content"])
	assert.IsType(t, float64(0), sync.Messages[0]["createdAt"])
	require.Len(t, sync.Conversations, 1)
	assert.Equal(t, wantConv, sync.Conversations[0].ConversationID)
	assert.Equal(t, peer.Nickname, sync.Conversations[0].Nickname)
	assert.Equal(t, sys.ServerID, sync.Conversations[0].LastMessage.ServerID)
	assert.Equal(t, 3, sync.Cursor)

	next, err := s.AddDM(info.UID, DMSpec{})
	require.NoError(t, err)
	_, body = fetch(t, http.MethodGet, s.URL()+PathIMSync+"?cursor=3", &info.Credentials, nil)
	require.NoError(t, json.Unmarshal(body, &sync))
	require.Len(t, sync.Messages, 1)
	assert.Equal(t, next.ServerID, sync.Messages[0]["serverId"])
}

func TestFaults(t *testing.T) {
	s := startServer(t, nil)
	info, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)
	creds := &info.Credentials
	api := s.URL() + PathNoticeDetail + "?count=10"

	tests := []struct {
		name  string
		patch FaultsPatch
		check func(t *testing.T)
	}{{
		name:  "expired",
		patch: FaultsPatch{Expired: new(true)},
		check: func(t *testing.T) {
			resp, _ := fetch(t, http.MethodGet, s.URL()+"/", creds, nil)
			assert.Equal(t, http.StatusFound, resp.StatusCode)
			assert.Contains(t, resp.Header.Get("Location"), "passport")
			resp, _ = fetch(t, http.MethodGet, s.URL()+PathCreatorComment, creds, nil)
			assert.Contains(t, resp.Header.Get("Location"), "login")
			_, body := fetch(t, http.MethodGet, api, creds, nil)
			assert.Contains(t, string(body), `"status_code":8`)
		},
	}, {
		name:  "captcha",
		patch: FaultsPatch{Captcha: new(true)},
		check: func(t *testing.T) {
			_, body := fetch(t, http.MethodGet, s.URL()+"/", creds, nil)
			assert.Contains(t, string(body), "<title>"+CaptchaTitle)
			assert.Contains(t, string(body), `id="`+IDCaptchaImage+`"`)
			resp, _ := fetch(t, http.MethodGet, api, creds, nil)
			assert.NotEmpty(t, resp.Header.Get(HeaderBDTuring))
		},
	}, {
		name:  "throttle",
		patch: FaultsPatch{Throttle: new(true)},
		check: func(t *testing.T) {
			resp, body := fetch(t, http.MethodGet, api, creds, nil)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Empty(t, body)
			assert.NotEmpty(t, resp.Header.Get(HeaderWhaleAbort))
			resp, _ = fetch(t, http.MethodGet, s.URL()+"/", creds, nil)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "pages still load")
		},
	}, {
		name:  "drop",
		patch: FaultsPatch{Drop: new(true)},
		check: func(t *testing.T) {
			_, err := noRedirect.Get(api) // no cookie: not this account, answered
			require.NoError(t, err)
			req, err := http.NewRequest(http.MethodGet, api, nil)
			require.NoError(t, err)
			req.AddCookie(&http.Cookie{Name: CookieSessionID, Value: cookieValue(creds.Cookies, CookieSessionID)})
			resp, err := noRedirect.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			assert.Error(t, err)
		},
	}, {
		name:  "slow",
		patch: FaultsPatch{SlowMS: new(int64(300))},
		check: func(t *testing.T) {
			start := time.Now()
			resp, body := fetch(t, http.MethodGet, api, creds, nil)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Contains(t, string(body), `"status_code":0`)
			assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "the body is spread over the delay")
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Faults
			require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "accounts/"+info.UID+"/faults", tt.patch, &f))
			tt.check(t)
			_, err := s.SetFaults(info.UID, FaultsPatch{
				Expired: new(false), Captcha: new(false), Throttle: new(false), Drop: new(false), SlowMS: new(int64(0)),
			})
			require.NoError(t, err)
			_, body := fetch(t, http.MethodGet, api, creds, nil)
			assert.Contains(t, string(body), `"status_code":0`, "restored")
		})
	}
}

func TestCookiesRoll(t *testing.T) {
	s := startServer(t, nil)
	info, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)
	seen := map[string]bool{cookieValue(info.Credentials.Cookies, CookieMsToken): true}
	for _, path := range []string{"/", "/", PathCreatorComment} {
		resp, _ := fetch(t, http.MethodGet, s.URL()+path, &info.Credentials, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var ms string
		for _, c := range resp.Cookies() {
			if c.Name == CookieMsToken {
				ms = c.Value
			}
		}
		require.NotEmpty(t, ms, path)
		assert.False(t, seen[ms], "msToken must change on every page load")
		seen[ms] = true
	}
	now, err := s.Account(info.UID)
	require.NoError(t, err)
	assert.True(t, seen[cookieValue(now.Credentials.Cookies, CookieMsToken)], "the account's jar follows the roll")
	assert.Equal(t, cookieValue(info.Credentials.Cookies, CookieSessionID), cookieValue(now.Credentials.Cookies, CookieSessionID))
}

func TestQRLoginHTTP(t *testing.T) {
	s := startServer(t, nil)
	existing, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)

	resp, body := fetch(t, http.MethodGet, s.URL()+"/", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	page := html.UnescapeString(string(body))
	assert.Contains(t, page, `id="`+IDLoginPanel+`"`)
	assert.Contains(t, page, `<div id="`+IDQRContainer+`"><img alt="`+QRImgAlt+`" src="data:image/png;base64,`)
	assert.Contains(t, page, ">"+LoginButtonText+"<")

	var sessions []LoginSession
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodGet, "logins", nil, &sessions))
	require.Len(t, sessions, 1)
	ls := sessions[0]
	assert.Equal(t, LoginWaiting, ls.Status)
	assert.Contains(t, page, ls.QRBase64)
	assert.Contains(t, ls.QRContent, ls.Token)

	check := func() (*http.Response, map[string]any) {
		resp, body := fetch(t, http.MethodGet, s.URL()+PathQRCodeCheck+"?session="+ls.ID+"&token="+ls.Token, nil, nil)
		var out struct {
			Data map[string]any `json:"data"`
		}
		require.NoError(t, json.Unmarshal(body, &out), string(body))
		return resp, out.Data
	}
	_, d := check()
	assert.Equal(t, "1", d["status"])

	assert.Equal(t, http.StatusBadRequest, controlCall(t, s, http.MethodPost, "logins/"+ls.ID+"/bogus", nil, nil))
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "logins/"+ls.Token+"/scanned", nil, nil), "token works as id")
	_, d = check()
	assert.Equal(t, "2", d["status"])
	assert.Equal(t, http.StatusConflict, controlCall(t, s, http.MethodPost, "logins/"+ls.ID+"/scanned", nil, nil))

	var done LoginSession
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "logins/"+ls.ID+"/confirmed", map[string]string{"uid": existing.UID}, &done))
	assert.Equal(t, existing.UID, done.UID)
	resp, d = check()
	assert.Equal(t, "3", d["status"])
	assert.Equal(t, "/", d["redirect_url"])
	assert.NotEmpty(t, d["xmst"])
	var jar Credentials
	for _, c := range resp.Cookies() {
		jar.Cookies = append(jar.Cookies, Cookie{Name: c.Name, Value: c.Value})
		if c.Name == CookieSessionID {
			assert.True(t, c.HttpOnly)
			assert.Empty(t, c.Domain, "host-only cookie")
			assert.NotEqual(t, cookieValue(existing.Credentials.Cookies, CookieSessionID), c.Value, "a new session")
		}
	}
	assert.Equal(t, "1", cookieValue(jar.Cookies, CookieLoginStatus))
	_, body = fetch(t, http.MethodGet, s.URL()+PathNoticeDetail, &jar, nil)
	assert.Contains(t, string(body), `"status_code":0`, "the new jar is logged in")

	_, d = check()
	assert.Equal(t, "5", d["status"], "a finished session is gone")
	assert.Empty(t, s.LoginSessions())

	// Confirming without a uid makes a new account.
	fetch(t, http.MethodGet, s.URL()+PathPassportLogin, nil, nil)
	sessions = s.LoginSessions()
	require.Len(t, sessions, 1)
	got, err := s.DoLogin(sessions[0].ID, ActionConfirmed, "")
	require.NoError(t, err)
	assert.Len(t, s.Accounts(), 2)
	assert.NotEqual(t, existing.UID, got.UID)
	_, err = s.DoLogin("nope", ActionRefused, "")
	assert.ErrorIs(t, err, ErrNotFound)

	// The bare QR endpoint starts a session too; refusing ends it.
	_, body = fetch(t, http.MethodGet, s.URL()+PathQRCodeGet, nil, nil)
	var started qrCheck
	require.NoError(t, json.Unmarshal(body, &started))
	assert.NotEmpty(t, started.Data.QRCode)
	refused, err := s.DoLogin(started.Data.Session, ActionRefused, "")
	require.NoError(t, err)
	assert.Equal(t, LoginRefused, refused.Status)
	_, err = s.DoLogin(started.Data.Session, ActionConfirmed, "")
	assert.ErrorIs(t, err, ErrConflict)
}

func TestQRRotation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	s := startServer(t, &Config{QRRotate: time.Minute, Now: clock})
	fetch(t, http.MethodGet, s.URL()+"/", nil, nil)
	before := s.LoginSessions()
	require.Len(t, before, 1)

	now = now.Add(59 * time.Second)
	assert.Equal(t, before[0].Token, s.LoginSessions()[0].Token, "not due yet")
	now = now.Add(time.Second)
	_, body := fetch(t, http.MethodGet, s.URL()+PathQRCodeCheck+"?session="+before[0].ID+"&token="+before[0].Token, nil, nil)
	var out struct {
		Data qrCheckData `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	assert.NotEqual(t, before[0].Token, out.Data.Token)
	assert.NotEmpty(t, out.Data.QRCode)
	assert.NotEqual(t, before[0].QRBase64, out.Data.QRCode)
	after := s.LoginSessions()
	require.Len(t, after, 1)
	assert.Equal(t, out.Data.Token, after[0].Token, "the control API shows the current token")

	// A page that stopped polling is forgotten.
	now = now.Add(DefaultLoginIdleTimeout + time.Second)
	assert.Empty(t, s.LoginSessions())
}

func TestSimulation(t *testing.T) {
	s := startServer(t, nil)
	a, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)
	b, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)
	var st SimulationState
	require.Equal(t, http.StatusOK, controlCall(t, s, http.MethodPost, "simulate", SimulationState{On: true, IntervalMS: 5}, &st))
	assert.True(t, st.On)
	notices := func(info AccountInfo) int {
		_, body := fetch(t, http.MethodGet, s.URL()+PathNoticeDetail+"?count=50", &info.Credentials, nil)
		var feed noticeFeed
		require.NoError(t, json.Unmarshal(body, &feed))
		return len(feed.NoticeListV2)
	}
	require.Eventually(t, func() bool { return notices(a) >= 5 && notices(b) >= 5 }, 10*time.Second, 20*time.Millisecond)
	s.SetSimulation(false, 0)
	_, body := fetch(t, http.MethodGet, s.URL()+PathIMSync+"?cursor=0", &a.Credentials, nil)
	var sync imSync
	require.NoError(t, json.Unmarshal(body, &sync))
	assert.NotEmpty(t, sync.Messages, "DMs are simulated too")
	for _, m := range sync.Messages {
		assert.True(t, json.Valid([]byte(m.Content)))
	}
}
