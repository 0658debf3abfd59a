package fakedouyin

// This file is the fake's platform profile: every URL path, selector, JSON
// field, cookie and header name the fake shares with the real site lives
// here, so a change of the real site is one edit in one place. The HTML and
// JavaScript of the pages receive these values through the page config.

// Paths of the www origin.
const (
	// PathHome is the www home page: the notice feed and IM store when
	// logged in, the QR login panel when logged out.
	PathHome = "/"
	// PathPassportLogin is where www and creator pages send an expired
	// session. It shows the same QR login panel as a logged-out home page.
	PathPassportLogin = "/passport/web/login/"
	// PathNoticeDetail is the notice feed API the home page calls.
	PathNoticeDetail = "/aweme/v1/web/notice/detail/"
	// PathIMSync is the fake's own JSON stand-in for Douyin's protobuf IM
	// endpoints; the home page polls it and pushes messages into imStore.
	PathIMSync = "/aweme/v1/web/im/sync/"
	// PathQRCodeGet starts a QR login session and returns the first QR.
	PathQRCodeGet = "/passport/web/get_qrcode/"
	// PathQRCodeCheck is polled by the login panel for the QR status.
	PathQRCodeCheck = "/passport/web/check_qrconnect/"
)

// Paths of the creator origin.
const (
	// PathCreatorComment is the creator centre's comment management page.
	PathCreatorComment = "/creator-micro/interactive/comment"
	// PathCreatorLogin is where creator pages send a missing session.
	PathCreatorLogin = "/creator-micro/login"
	// PathCommentList is the per-video comment list API of the creator centre.
	PathCommentList = "/web/api/third_party/aweme/api/comment/read/aweme/v1/web/comment/list/select/"
)

// PathControlPrefix reserves the fake's control API; nothing of the real
// site lives under it.
const PathControlPrefix = "/__fake/"

// Selectors and page markers.
const (
	// SelectorIMEntry is the element whose React fiber leads to imStore.
	SelectorIMEntry = `[data-e2e="im-entry"]`
	// ReactFiberPrefix starts the expando property React puts on DOM nodes.
	ReactFiberPrefix = "__reactFiber$"
	// IDLoginPanel is the id of the login panel.
	IDLoginPanel = "login-panel-new"
	// IDQRContainer is the id of the element holding the QR <img>.
	IDQRContainer = "animate_qrcode_container"
	// QRImgAlt is the alt text of the QR image.
	QRImgAlt = "二维码"
	// LoginButtonText is the text of the header button opening the panel.
	LoginButtonText = "登录"
	// CaptchaTitle is part of the title of the captcha interstitial.
	CaptchaTitle = "验证码中间页"
	// IDCaptchaContainer and IDCaptchaImage mark the captcha interstitial.
	IDCaptchaContainer = "captcha_container"
	// IDCaptchaImage is the id of the captcha puzzle image.
	IDCaptchaImage = "captcha-verify-image"
)

// Response headers that signal risk control.
const (
	// HeaderBDTuring marks an API response that demands a captcha.
	HeaderBDTuring = "x-vc-bdturing-parameters"
	// HeaderWhaleAbort marks a throttled API response with an empty body.
	HeaderWhaleAbort = "x-whale-throughput-abort-data"
)

// API status codes.
const (
	// StatusOK is status_code of a good API answer.
	StatusOK = 0
	// StatusNotLoggedIn is status_code of an API answer to a dead session.
	StatusNotLoggedIn = 8
)

// Notice types of the notice feed.
const (
	// NoticeComment is a comment on one of the account's videos.
	NoticeComment = 31
	// NoticeMention is an @mention of the account in a comment.
	NoticeMention = 32
	// NoticeReply is a reply to one of the account's comments.
	NoticeReply = 33
)

// Direct message constants.
const (
	// MessageTypeText is the type of a text direct message.
	MessageTypeText = 7
	// AweTypeText is content.aweType of an ordinary text message.
	AweTypeText = 0
	// AweTypeSystem is content.aweType of a system notice in a conversation.
	AweTypeSystem = 701
)

// LabelAuthor is label_text of the creator's own comments.
const LabelAuthor = "作者"

// Cookie names of a logged-in session and the localStorage keys that go
// with them.
const (
	CookieSessionID    = "sessionid"
	CookieSessionIDSS  = "sessionid_ss"
	CookieSidTT        = "sid_tt"
	CookieSidGuard     = "sid_guard"
	CookieUIDTT        = "uid_tt"
	CookieCSRF         = "passport_csrf_token"
	CookieTTWID        = "ttwid"
	CookieMsToken      = "msToken"
	CookieOdinTT       = "odin_tt"
	CookieLoginStatus  = "LOGIN_STATUS"
	LocalHasUserLogin  = "HasUserLogin"
	LocalXmst          = "xmst"
	localHasUserLoginV = "1"
)
