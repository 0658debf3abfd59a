package fakedouyin

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/internal/testbrowser"
)

// newTab starts a headless Chromium and returns a tab in a fresh incognito
// browser context; everything ends at cleanup.
func newTab(t *testing.T) context.Context {
	t.Helper()
	actx := testbrowser.Allocator(t, chromedp.Flag("disable-dev-shm-usage", true))
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	require.NoError(t, chromedp.Do(bctx), "starting chromium")
	tctx, tcancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	tctx, cancel := context.WithTimeout(tctx, 60*time.Second)
	t.Cleanup(func() {
		cancel()
		tcancel()
	})
	require.NoError(t, chromedp.Do(tctx), "opening tab")
	return tctx
}

// restore puts a credential jar into the tab's browser context before the
// first navigation, as the crawler does.
func restore(t *testing.T, ctx context.Context, creds Credentials) {
	t.Helper()
	params := network.SetCookiesParams{}
	for _, c := range creds.Cookies {
		params.Cookies = append(params.Cookies, &network.CookieParam{
			Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path,
			HTTPOnly: c.HTTPOnly, Secure: c.Secure, Expires: cdp.TimeSinceEpoch(c.Expires),
		})
	}
	_, err := chromedp.Call(ctx, network.SetCookies, params)
	require.NoError(t, err)
}

// bodyResult is a response body fetched through CDP.
type bodyResult struct {
	url  string
	body string
	// early is the error of a fetch tried at responseReceived, before
	// loadingFinished.
	early error
}

// captureBodies reports the bodies of responses whose path is path: the URL
// is noted at responseReceived, the body fetched after loadingFinished. With
// tryEarly it also tries a fetch at responseReceived.
func captureBodies(t *testing.T, ctx context.Context, path string, tryEarly bool) <-chan bodyResult {
	t.Helper()
	var mu sync.Mutex
	urls := map[network.RequestID]string{}
	early := map[network.RequestID]chan error{}
	finished := make(chan network.RequestID, 64)
	out := make(chan bodyResult, 64)
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventResponseReceived:
			u, err := url.Parse(e.Response.URL)
			if err != nil || u.Path != path {
				return
			}
			mu.Lock()
			urls[e.RequestID] = e.Response.URL
			if tryEarly {
				ch := make(chan error, 1)
				early[e.RequestID] = ch
				// A listener must not send commands: fetch from a goroutine.
				go func(id network.RequestID) {
					_, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
					ch <- err
				}(e.RequestID)
			}
			mu.Unlock()
		case *network.EventLoadingFinished:
			mu.Lock()
			_, ok := urls[e.RequestID]
			mu.Unlock()
			if ok {
				select {
				case finished <- e.RequestID:
				default:
				}
			}
		}
	})
	require.NoError(t, err)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case id := <-finished:
				res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
				mu.Lock()
				r := bodyResult{url: urls[id]}
				ch := early[id]
				mu.Unlock()
				if ch != nil {
					r.early = <-ch
				}
				if err != nil {
					r.body = "error: " + err.Error()
				} else {
					r.body = string(res.Body)
				}
				out <- r
			}
		}
	}()
	return out
}

// nextBody waits for a captured body.
func nextBody(t *testing.T, ch <-chan bodyResult) bodyResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		require.FailNow(t, "no response captured")
		return bodyResult{}
	}
}

// browserCookies reads the tab's cookies for the fake's origin.
func browserCookies(t *testing.T, ctx context.Context, origin string) map[string]*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{origin + "/"}})
	require.NoError(t, err)
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// poll waits until the JavaScript expression is truthy.
func poll(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, expr)
}

// storeJS walks the React fiber of the IM entry up to imStore, the way
// douyin.md describes, and evaluates to it (or null).
const storeJS = `(() => {
  const el = document.querySelector('[data-e2e="im-entry"]');
  if (!el) return null;
  const key = Object.keys(el).find(k => k.startsWith("__reactFiber$"));
  for (let f = key && el[key]; f; f = f.return) {
    if (f.memoizedProps && f.memoizedProps.imStore) return f.memoizedProps.imStore;
  }
  return null;
})()`

func TestBrowserNoticeFeed(t *testing.T) {
	s := startServer(t, nil)
	info, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)
	c, err := s.AddComment(info.UID, CommentSpec{Text: "浏览器里看到的评论"})
	require.NoError(t, err)

	ctx := newTab(t)
	restore(t, ctx, info.Credentials)
	bodies := captureBodies(t, ctx, PathNoticeDetail, false)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.URL()+"/")))

	r := nextBody(t, bodies)
	u, err := url.Parse(r.url)
	require.NoError(t, err)
	assert.NotEmpty(t, u.Query().Get("notice_group"))
	assert.NotEmpty(t, u.Query().Get("a_bogus"))
	assert.NotEmpty(t, u.Query().Get("msToken"))
	var feed noticeFeed
	require.NoError(t, json.Unmarshal([]byte(r.body), &feed), r.body)
	require.Len(t, feed.NoticeListV2, 1)
	assert.Equal(t, c.CID, feed.NoticeListV2[0].Comment.Comment.CID)
	assert.Equal(t, "浏览器里看到的评论", feed.NoticeListV2[0].Comment.Comment.Text)

	jar := browserCookies(t, ctx, s.URL())
	require.Contains(t, jar, CookieSessionID)
	assert.True(t, jar[CookieSessionID].HTTPOnly)
	assert.Equal(t, cookieValue(info.Credentials.Cookies, CookieSessionID), jar[CookieSessionID].Value)
	require.Contains(t, jar, CookieMsToken)
	assert.NotEqual(t, cookieValue(info.Credentials.Cookies, CookieMsToken), jar[CookieMsToken].Value, "msToken rolled")
	hasLogin, err := chromedp.Run(ctx, chromedp.Evaluate[string](`localStorage.getItem("HasUserLogin")`))
	require.NoError(t, err)
	assert.Equal(t, "1", hasLogin)
}

func TestBrowserIMStore(t *testing.T) {
	s := startServer(t, &Config{IMPollInterval: 100 * time.Millisecond})
	info, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)
	peer := &User{Nickname: "私信的粉丝"}
	old, err := s.AddDM(info.UID, DMSpec{Text: "之前的消息", Peer: peer})
	require.NoError(t, err)

	ctx := newTab(t)
	restore(t, ctx, info.Credentials)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.URL()+"/")))
	poll(t, ctx, storeJS+` !== null`)

	msg, err := s.AddDM(info.UID, DMSpec{Text: "新的私信", Peer: &User{UID: old.Sender, Nickname: peer.Nickname}})
	require.NoError(t, err)
	has := func(id string) string {
		return `(${store} || {msgListToPush: []}).msgListToPush.some(m => String(m.serverId) === "` + id + `")`
	}
	poll(t, ctx, strings.ReplaceAll(has(msg.ServerID), "${store}", storeJS))

	type seen struct {
		Content  string `json:"content"`
		Sender   string `json:"sender"`
		IsFromMe bool   `json:"isFromMe"`
		ConvNick string `json:"convNick"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[seen](`(() => {
	  const st = `+storeJS+`;
	  const m = st.msgListToPush.find(m => String(m.serverId) === "`+msg.ServerID+`");
	  const c = st.converSationListOrigin.find(c => c.conversationId === m.conversationId);
	  return {content: m.content, sender: String(m.sender), isFromMe: m.isFromMe, convNick: c && c.nickname};
	})()`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"text":"新的私信","aweType":0}`, got.Content)
	assert.Equal(t, old.Sender, got.Sender)
	assert.False(t, got.IsFromMe)
	assert.Equal(t, peer.Nickname, got.ConvNick)

	// After a reload the store replays recent messages.
	require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
	poll(t, ctx, strings.ReplaceAll(has(old.ServerID)+" && "+has(msg.ServerID), "${store}", storeJS))
}

func TestBrowserExpiredAndCaptcha(t *testing.T) {
	s := startServer(t, nil)
	info, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)
	ctx := newTab(t)
	restore(t, ctx, info.Credentials)

	_, err = s.SetFaults(info.UID, FaultsPatch{Expired: new(true)})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.URL()+"/")))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Contains(t, loc, "passport")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.URL()+PathCreatorComment)))
	loc, err = chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Contains(t, loc, "login")

	_, err = s.SetFaults(info.UID, FaultsPatch{Expired: new(false), Captcha: new(true)})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.URL()+"/")))
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	assert.Contains(t, title, CaptchaTitle)
	present, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`!!document.querySelector("#captcha-verify-image") && !!document.querySelector("#captcha_container")`))
	require.NoError(t, err)
	assert.True(t, present)
}

func TestBrowserSlowBody(t *testing.T) {
	s := startServer(t, nil)
	info, err := s.CreateAccount(AccountSpec{})
	require.NoError(t, err)
	c, err := s.AddComment(info.UID, CommentSpec{})
	require.NoError(t, err)
	_, err = s.SetFaults(info.UID, FaultsPatch{SlowMS: new(int64(1500))})
	require.NoError(t, err)

	ctx := newTab(t)
	restore(t, ctx, info.Credentials)
	bodies := captureBodies(t, ctx, PathNoticeDetail, true)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.URL()+"/")))
	r := nextBody(t, bodies)
	assert.Error(t, r.early, "fetching the body before loadingFinished fails")
	assert.Contains(t, r.body, c.CID, "after loadingFinished the body is there")
}

func TestBrowserQRLogin(t *testing.T) {
	s := startServer(t, &Config{QRRotate: 500 * time.Millisecond, QRPollInterval: 100 * time.Millisecond})
	ctx := newTab(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.URL()+"/")))

	const imgJS = `document.querySelector("#animate_qrcode_container img")`
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](imgJS+`.src`))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(first, "data:image/png;base64,"), first)
	alt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#login-panel-new img[alt="二维码"]').alt`))
	require.NoError(t, err)
	assert.Equal(t, QRImgAlt, alt)

	quoted, err := json.Marshal(first)
	require.NoError(t, err)
	poll(t, ctx, imgJS+`.src !== `+string(quoted)+` && `+imgJS+`.src.startsWith("data:image/png;base64,")`)

	sessions := s.LoginSessions()
	require.Len(t, sessions, 1)
	_, err = s.DoLogin(sessions[0].ID, ActionScanned, "")
	require.NoError(t, err)
	poll(t, ctx, `document.querySelector("#qrcode-status").textContent.includes("扫码成功")`)
	done, err := s.DoLogin(sessions[0].ID, ActionConfirmed, "")
	require.NoError(t, err)

	// The page navigates itself after the login: a poll does not survive
	// that, so evaluate until the logged-in page is there.
	require.Eventually(t, func() bool {
		ectx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		ok, err := chromedp.Run(ectx, chromedp.Evaluate[bool](`location.pathname === "/" && !!document.querySelector('[data-e2e="im-entry"]')`))
		return err == nil && ok
	}, 20*time.Second, 100*time.Millisecond)
	jar := browserCookies(t, ctx, s.URL())
	require.Contains(t, jar, CookieSessionID)
	assert.True(t, jar[CookieSessionID].HTTPOnly)
	assert.Equal(t, "1", jar[CookieLoginStatus].Value)
	info, err := s.Account(done.UID)
	require.NoError(t, err)
	assert.Equal(t, cookieValue(info.Credentials.Cookies, CookieSessionID), jar[CookieSessionID].Value)
	ls, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`({HasUserLogin: localStorage.getItem("HasUserLogin"), xmst: localStorage.getItem("xmst")})`))
	require.NoError(t, err)
	assert.Equal(t, "1", ls["HasUserLogin"])
	assert.Equal(t, info.Credentials.LocalStorage[LocalXmst], ls["xmst"])
}
