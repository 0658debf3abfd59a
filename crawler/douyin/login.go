package douyin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/protocol"
)

// Compile-time check that Factory can log accounts in.
var _ crawler.LoginFactory = (*Factory)(nil)

// Login opens the logged-out home page in a fresh incognito context and
// follows its QR login: every new code goes to the sink, and when the
// page's cookies or localStorage say the login went through, the jar does.
// It returns at once; the login runs until it ends or ctx is cancelled.
func (f *Factory) Login(ctx context.Context, req crawler.LoginRequest, sink crawler.LoginSink) error {
	if req.SessionID == "" || req.AccountID == "" || sink == nil {
		return errors.New("douyin: login needs a session, an account and a sink")
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return errors.New("douyin: factory closed")
	}
	err := f.startBrowserLocked()
	f.mu.Unlock()
	if err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(f.ctx, cancel)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer stop()
		defer cancel()
		f.runLogin(lctx, req, sink)
	}()
	return nil
}

// loginState is what one look at the login page found.
type loginState struct {
	QR       string `json:"qr"`
	Text     string `json:"text"`
	Flag     string `json:"flag"`
	Nickname string `json:"nickname"`
}

// runLogin is one QR login; it is run as a goroutine.
func (f *Factory) runLogin(ctx context.Context, req crawler.LoginRequest, sink crawler.LoginSink) {
	defer func() {
		if p := recover(); p != nil {
			f.log.Error("login panicked", "panic", p)
			sink.Failed(context.WithoutCancel(ctx), req, protocol.ErrorTypeNetworkError, "the login broke")
		}
	}()
	log := f.log.With("login_id", req.SessionID, "account_id", req.AccountID)
	fail := func(kind, msg string) {
		if ctx.Err() != nil {
			return // cancelled: the master asked for nothing more
		}
		log.Info("login ended", "error_type", kind)
		sink.Failed(ctx, req, kind, msg)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()

	tab, err := f.browser.NewTab(ctx)
	if err != nil {
		fail(protocol.ErrorTypeNetworkError, "could not open a browser tab: "+err.Error())
		return
	}
	defer tab.Close()
	if err := f.openLoginPage(ctx, tab.Context()); err != nil {
		fail(protocol.ErrorTypeNetworkError, "could not open the login page: "+err.Error())
		return
	}
	t := time.NewTicker(f.cfg.LoginPoll)
	defer t.Stop()
	shown := ""
	for {
		st, err := f.lookAtLogin(tab.Context())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Debug("reading the login page", "err", err)
		case f.loggedIn(tab.Context(), st):
			f.finishLogin(ctx, tab.Context(), req, sink, log)
			return
		case containsAny(st.Text, f.cfg.Profile.LoginRefusedTexts):
			fail(protocol.LoginErrorRefused, "the login was declined on the phone")
			return
		case containsAny(st.Text, f.cfg.Profile.LoginExpiredTexts):
			fail(protocol.LoginErrorExpired, "the QR code expired before it was confirmed")
			return
		case st.QR != "" && st.QR != shown && strings.HasPrefix(st.QR, "data:image/"):
			shown = st.QR
			sink.QRCode(ctx, req, st.QR)
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			fail(protocol.LoginErrorTimeout, "nobody scanned the code in time")
			return
		case <-t.C:
		}
	}
}

// openLoginPage loads the home page and opens the login panel if it is
// closed.
func (f *Factory) openLoginPage(ctx, tctx context.Context) error {
	release, err := f.browser.AcquireNavigation(ctx)
	if err != nil {
		return err
	}
	defer release()
	nctx, cancel := context.WithTimeout(tctx, f.cfg.NavigationTimeout)
	defer cancel()
	if err := chromedp.Do(nctx, chromedp.Navigate(f.cfg.WWWOrigin+f.cfg.Profile.HomePath)); err != nil {
		return err
	}
	panel, _ := json.Marshal(f.cfg.Profile.LoginPanelSelector)
	button, _ := json.Marshal(f.cfg.Profile.LoginButtonText)
	// Click the element saying 登录 when the panel is missing or hidden.
	js := `(function () {
  var p = document.querySelector(` + string(panel) + `);
  if (p && !p.hidden && p.offsetParent !== null) return true;
  var els = document.querySelectorAll('button, a, div, span');
  for (var i = 0; i < els.length; i++) {
    if (els[i].textContent.trim() === ` + string(button) + `) { els[i].click(); return true; }
  }
  return false;
})()`
	// The panel check is best effort; the QR poll decides.
	_, _ = chromedp.Run(nctx, chromedp.Evaluate[bool](js))
	return nil
}

// lookAtLogin reads the QR image, the panel's text, the login flag and the
// user's name from the page.
func (f *Factory) lookAtLogin(tctx context.Context) (loginState, error) {
	p := f.cfg.Profile
	qr, _ := json.Marshal(p.QRImageSelector)
	panel, _ := json.Marshal(p.LoginPanelSelector)
	flag, _ := json.Marshal(p.LoginLocalStorageFlag)
	user, _ := json.Marshal(p.UserNameSelector)
	js := `(function () {
  var img = document.querySelector(` + string(qr) + `);
  var panel = document.querySelector(` + string(panel) + `);
  var name = document.querySelector(` + string(user) + `);
  var flag = null;
  try { flag = localStorage.getItem(` + string(flag) + `); } catch (e) {}
  return {qr: img ? img.src : "", text: panel ? panel.innerText : "", flag: flag || "", nickname: name ? name.textContent.trim() : ""};
})()`
	cctx, cancel := context.WithTimeout(tctx, 5*time.Second)
	defer cancel()
	st, err := chromedp.Run(cctx, chromedp.Evaluate[loginState](js))
	if err != nil {
		return loginState{}, fmt.Errorf("reading the login page: %w", err)
	}
	return st, nil
}

// loggedIn reports whether the login went through: the page's flag, the
// login-status cookie, or a session cookie.
func (f *Factory) loggedIn(tctx context.Context, st loginState) bool {
	if st.Flag == "1" {
		return true
	}
	jar, err := f.readJar(tctx)
	if err != nil {
		return false
	}
	if v, ok := jar.cookie(f.cfg.Profile.LoginStatusCookie); ok && v.Value == "1" {
		return true
	}
	_, ok := jar.cookie(f.cfg.Profile.SessionCookie)
	return ok
}

// finishLogin waits for the page to settle on the logged-in home page,
// reads the whole jar and hands it over.
func (f *Factory) finishLogin(ctx, tctx context.Context, req crawler.LoginRequest, sink crawler.LoginSink, log interface {
	Info(string, ...any)
}) {
	// The page redirects after login; the jar and name are read once the
	// session cookie is there, within a few polls.
	var jar Credentials
	var st loginState
	for range 10 {
		var err error
		if jar, err = f.readJar(tctx); err == nil {
			if _, ok := jar.cookie(f.cfg.Profile.SessionCookie); ok {
				st, _ = f.lookAtLogin(tctx)
				if st.Nickname != "" {
					break
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(f.cfg.LoginPoll / 2):
		}
	}
	if _, ok := jar.cookie(f.cfg.Profile.SessionCookie); !ok {
		sink.Failed(ctx, req, protocol.ErrorTypeAuthFailed, "the page said logged in but set no session cookie")
		return
	}
	jar.LocalStorage = map[string]string{}
	if ls, err := chromedp.Run(tctx, chromedp.Evaluate[map[string]string](f.localStorageJS())); err == nil {
		jar.LocalStorage = ls
	}
	blob, err := json.Marshal(jar)
	if err != nil {
		sink.Failed(ctx, req, protocol.ErrorTypeNetworkError, "encoding the cookie jar failed")
		return
	}
	log.Info("login succeeded")
	sink.Succeeded(ctx, req, blob, crawler.LoginUser{Nickname: st.Nickname})
}

// readJar reads the browser's cookies for both origins.
func (f *Factory) readJar(tctx context.Context) (Credentials, error) {
	cctx, cancel := context.WithTimeout(tctx, 5*time.Second)
	defer cancel()
	res, err := chromedp.Call(cctx, network.GetCookies, network.GetCookiesParams{
		URLs: []string{f.cfg.WWWOrigin + "/", f.cfg.CreatorOrigin + "/"},
	})
	if err != nil {
		return Credentials{}, fmt.Errorf("reading cookies: %w", err)
	}
	return Credentials{Cookies: dedupe(fromBrowser(res.Cookies))}, nil
}

// localStorageJS reads the credential keys of the www origin.
func (f *Factory) localStorageJS() string {
	keys, _ := json.Marshal(f.cfg.Profile.LocalStorageKeys)
	return `(function () {
  var out = {};
  try { ` + string(keys) + `.forEach(function (k) { var v = localStorage.getItem(k); if (v !== null) out[k] = v; }); } catch (e) {}
  return out;
})()`
}

// containsAny reports whether s contains one of subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
