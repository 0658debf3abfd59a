package fakedouyin

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"time"
)

// assets holds the pages' JavaScript.
//
//go:embed assets/*.js
var assets embed.FS

// pageCfg is the JSON the pages' JavaScript reads from window.__FAKE_CFG__;
// it carries the profile's paths and selectors so they live only in Go.
type pageCfg struct {
	UID             string `json:"uid,omitempty"`
	SecUID          string `json:"secUid,omitempty"`
	Nickname        string `json:"nickname,omitempty"`
	Webid           string `json:"webid,omitempty"`
	VerifyFp        string `json:"verifyFp,omitempty"`
	NoticePath      string `json:"noticePath,omitempty"`
	NoticeGroup     string `json:"noticeGroup,omitempty"`
	NoticeCount     int    `json:"noticeCount,omitempty"`
	IMPath          string `json:"imPath,omitempty"`
	IMPollMs        int64  `json:"imPollMs,omitempty"`
	IMEntrySelector string `json:"imEntrySelector,omitempty"`
	FiberPrefix     string `json:"fiberPrefix,omitempty"`
	CommentPath     string `json:"commentPath,omitempty"`
	FirstAwemeID    string `json:"firstAwemeId,omitempty"`
	CheckPath       string `json:"checkPath,omitempty"`
	QRSession       string `json:"qrSession,omitempty"`
	QRToken         string `json:"qrToken,omitempty"`
	PollMs          int64  `json:"pollMs,omitempty"`
	LoginPanelID    string `json:"loginPanelId,omitempty"`
	QRContainerID   string `json:"qrContainerId,omitempty"`
	LSHasUserLogin  string `json:"lsHasUserLogin,omitempty"`
	LSXmst          string `json:"lsXmst,omitempty"`
}

// pageData fills the page templates.
type pageData struct {
	Cfg      pageCfg
	Script   template.JS
	Nickname string
	Videos   []Video
	QRBase64 string
	Profile  profileNames
}

// profileNames exposes profile constants to the templates.
type profileNames struct {
	LoginPanelID, QRContainerID, QRAlt, LoginButton  string
	CaptchaTitle, CaptchaContainerID, CaptchaImageID string
}

// names is the template view of the profile.
var names = profileNames{
	LoginPanelID: IDLoginPanel, QRContainerID: IDQRContainer, QRAlt: QRImgAlt, LoginButton: LoginButtonText,
	CaptchaTitle: CaptchaTitle, CaptchaContainerID: IDCaptchaContainer, CaptchaImageID: IDCaptchaImage,
}

// pageTemplates are the fake's HTML pages.
var pageTemplates = template.Must(template.New("").Parse(`
{{define "head"}}<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<link rel="icon" href="data:,">{{end}}

{{define "home"}}{{template "head"}}<title>抖音-记录美好生活</title></head>
<body>
<header id="douyin-header">
  <a class="logo" href="/">抖音</a>
  <div class="header-right">
    <div data-e2e="notice-entry">通知</div>
    <div data-e2e="im-entry" class="im-entry">私信 <span id="im-unread"></span></div>
    <div data-e2e="live-avatar" class="user-info">{{.Nickname}}</div>
  </div>
</header>
<main>
  <section id="notice-panel"><h2>互动消息</h2><ul id="notice-list"></ul></section>
  <section id="im-panel"><h2>私信</h2><ul id="im-list"></ul></section>
</main>
<script>window.__FAKE_CFG__ = {{.Cfg}};</script>
<script>{{.Script}}</script>
</body></html>{{end}}

{{define "creator"}}{{template "head"}}<title>抖音创作者中心</title></head>
<body>
<header><span class="logo">抖音创作者中心</span><span class="user-info">{{.Nickname}}</span></header>
<main>
  <h2>评论管理</h2>
  <div id="work-list">{{range .Videos}}
    <div class="work-item" data-aweme-id="{{.AwemeID}}">{{.Desc}}</div>{{end}}
  </div>
  <ul id="comment-list"></ul>
  <button id="comment-load-more" hidden>加载更多</button>
</main>
<script>window.__FAKE_CFG__ = {{.Cfg}};</script>
<script>{{.Script}}</script>
</body></html>{{end}}

{{define "login"}}{{template "head"}}<title>抖音-记录美好生活</title></head>
<body>
<header id="douyin-header"><a class="logo" href="/">抖音</a>
  <button id="login-button" class="login-btn">{{.Profile.LoginButton}}</button></header>
<div id="{{.Profile.LoginPanelID}}" class="login-panel">
  <button id="login-close" aria-label="关闭">×</button>
  <div class="qrcode-title">打开抖音App扫码登录</div>
  <div id="{{.Profile.QRContainerID}}"><img alt="{{.Profile.QRAlt}}" src="data:image/png;base64,{{.QRBase64}}"></div>
  <div id="qrcode-status"></div>
</div>
<script>window.__FAKE_CFG__ = {{.Cfg}};</script>
<script>{{.Script}}</script>
</body></html>{{end}}

{{define "captcha"}}{{template "head"}}<title>{{.Profile.CaptchaTitle}}</title></head>
<body>
<div id="{{.Profile.CaptchaContainerID}}">
  <p>请完成下列验证后继续</p>
  <img id="{{.Profile.CaptchaImageID}}" alt="captcha" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</div>
</body></html>{{end}}
`))

// script joins the shared helpers and the named page script.
func script(name string) template.JS {
	common, _ := assets.ReadFile("assets/common.js")
	page, _ := assets.ReadFile("assets/" + name + ".js")
	// The assets are our own files, never user input.
	return template.JS(string(common) + "\n" + string(page))
}

// render executes template name into w.
func (s *Server) render(w http.ResponseWriter, name string, d pageData) {
	var buf bytes.Buffer
	d.Profile = names
	if err := pageTemplates.ExecuteTemplate(&buf, name, d); err != nil {
		s.log.Error("rendering page", "page", name, "err", err)
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// renderCaptcha serves the captcha interstitial.
func (s *Server) renderCaptcha(w http.ResponseWriter) {
	s.render(w, "captcha", pageData{})
}

// setRolledCookies rolls the session's cookies and sends the changes.
func (s *Server) setRolledCookies(w http.ResponseWriter, req request) (acct *account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[req.uid]
	for _, c := range s.rollCookiesLocked(a, req.sid) {
		http.SetCookie(w, httpCookie(c))
	}
	return a
}

// httpCookie turns a jar cookie into a host-only Set-Cookie.
func httpCookie(c Cookie) *http.Cookie {
	hc := &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, HttpOnly: c.HTTPOnly, Secure: c.Secure, SameSite: http.SameSiteLaxMode}
	if c.Expires > 0 {
		hc.Expires = time.Unix(int64(c.Expires), 0)
	}
	return hc
}

// handleHome serves the www home page: logged in, or the login panel.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request, req request) {
	if req.uid == "" {
		s.handleLoginPage(w, r)
		return
	}
	a := s.setRolledCookies(w, req)
	s.mu.Lock()
	d := pageData{
		Nickname: a.user.Nickname,
		Script:   script("home"),
		Cfg: pageCfg{
			UID: a.user.UID, SecUID: a.user.SecUID, Nickname: a.user.Nickname,
			Webid: s.newIDLocked(), VerifyFp: "verify_" + s.randTokenLocked(32),
			NoticePath: PathNoticeDetail, NoticeGroup: "700", NoticeCount: s.cfg.NoticeCount,
			IMPath: PathIMSync, IMPollMs: s.cfg.IMPollInterval.Milliseconds(),
			IMEntrySelector: SelectorIMEntry, FiberPrefix: ReactFiberPrefix,
			LSHasUserLogin: LocalHasUserLogin,
		},
	}
	s.mu.Unlock()
	s.render(w, "home", d)
}

// handleCreatorComment serves the creator centre's comment page.
func (s *Server) handleCreatorComment(w http.ResponseWriter, _ *http.Request, req request) {
	a := s.setRolledCookies(w, req)
	s.mu.Lock()
	d := pageData{
		Nickname: a.user.Nickname,
		Videos:   append([]Video(nil), a.videos...),
		Script:   script("creator"),
		Cfg:      pageCfg{CommentPath: PathCommentList},
	}
	if len(a.videos) > 0 {
		d.Cfg.FirstAwemeID = a.videos[0].AwemeID
	}
	s.mu.Unlock()
	s.render(w, "creator", d)
}

// handleLoginPage serves the login panel with a fresh QR login session.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ls, err := s.newLoginSession(r)
	if err != nil {
		s.log.Error("starting login session", "err", err)
		http.Error(w, "qr failed", http.StatusInternalServerError)
		return
	}
	s.render(w, "login", pageData{
		Script:   script("login"),
		QRBase64: ls.QRBase64,
		Cfg: pageCfg{
			CheckPath: PathQRCodeCheck, QRSession: ls.ID, QRToken: ls.Token,
			PollMs: s.cfg.QRPollInterval.Milliseconds(), LoginPanelID: IDLoginPanel,
			QRContainerID: IDQRContainer, LSHasUserLogin: LocalHasUserLogin, LSXmst: LocalXmst,
		},
	})
}
