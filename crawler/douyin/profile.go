package douyin

// This file is the adapter's platform profile: every URL path, selector,
// cookie, header and JSON field name it shares with Douyin lives here, so a
// change of the site is one edit in one place.

// Profile describes the parts of Douyin the monitor relies on.
type Profile struct {
	// HomePath is the logged-in www page reloaded every cycle; it requests
	// the notice feed and holds the IM store.
	HomePath string
	// NoticePath is the path of the notice feed the home page requests;
	// query parameters vary, so only the path is matched.
	NoticePath string
	// NoticeTypeComment is the notice type of a comment on a video.
	NoticeTypeComment int
	// StatusOK and StatusNotLoggedIn are API status_code values.
	StatusOK, StatusNotLoggedIn int
	// AuthorLabel is label_text of the creator's own comments.
	AuthorLabel string

	// LoginURLMarkers: a navigation that ends on a URL (host and path)
	// containing one of them means the session is gone.
	LoginURLMarkers []string
	// CaptchaTitle is part of the captcha interstitial's title.
	CaptchaTitle string
	// CaptchaSelectors mark the captcha interstitial.
	CaptchaSelectors []string
	// CaptchaHeaders are response headers demanding a captcha.
	CaptchaHeaders []string
	// ThrottleHeaders are response headers of a throttled answer.
	ThrottleHeaders []string

	// LoginPanelSelector is the QR login panel of the logged-out www page;
	// LoginButtonText is the text of the element that opens it.
	LoginPanelSelector, LoginButtonText string
	// QRImageSelector matches the login QR <img> (its src a data URL).
	QRImageSelector string
	// LoginStatusCookies mark a finished login when present with a value
	// (LOGIN_STATUS must be "1"); LoginLocalStorageFlag is the localStorage
	// key the page sets to "1" on login.
	LoginStatusCookie     string
	LoginLocalStorageFlag string
	// LoginRefusedTexts and LoginExpiredTexts are what the panel says when
	// the user declined on the phone or the code lapsed.
	LoginRefusedTexts, LoginExpiredTexts []string
	// UserNameSelector shows the logged-in user's nickname.
	UserNameSelector string

	// SessionCookie must be in a logged-in jar.
	SessionCookie string
	// SessionCookies are the cookies whose change is sent back at once; a
	// change of the others (msToken, sid_guard roll on every page load)
	// waits for Config.CredentialsInterval.
	SessionCookies []string
	// LocalStorageKeys are the www origin's localStorage keys that belong
	// to the credentials.
	LocalStorageKeys []string

	// IMEntrySelector is the element whose React fiber leads to the IM
	// store.
	IMEntrySelector string
	// ReactFiberPrefix starts the expando property React puts on nodes.
	ReactFiberPrefix string
	// IMStoreProp is the memoizedProps key holding the IM store.
	IMStoreProp string
	// ConversationList and PushList are the store's conversation list and
	// the list new messages arrive in.
	ConversationList, PushList string
	// Message are the field names of a message in the store.
	Message MessageFields
	// Conversation are the field names of a conversation in the store.
	Conversation ConversationFields
	// TextMessageTypes are the message types of text DMs.
	TextMessageTypes []int
	// SystemAweType is content.aweType of a system notice: never reported.
	SystemAweType int
	// BindingName is the page binding the probe hands messages to.
	BindingName string
}

// MessageFields names the fields of a message in the IM store.
type MessageFields struct {
	ServerID, ConversationID, Sender, Type, Content, CreatedAt, IsFromMe string
}

// ConversationFields names the fields of a conversation in the IM store.
type ConversationFields struct {
	ID, Nickname, Participants, ParticipantUID, ParticipantNickname string
}

// DefaultProfile is Douyin as the platform notes describe it.
func DefaultProfile() *Profile {
	return &Profile{
		HomePath:          "/",
		NoticePath:        "/aweme/v1/web/notice/detail/",
		NoticeTypeComment: 31,
		StatusOK:          0,
		StatusNotLoggedIn: 8,
		AuthorLabel:       "作者",
		LoginURLMarkers:   []string{"passport", "login"},
		CaptchaTitle:      "验证码中间页",
		CaptchaSelectors:  []string{"#captcha-verify-image", "#captcha_container"},
		CaptchaHeaders:    []string{"x-vc-bdturing-parameters", "bdturing-verify"},
		ThrottleHeaders:   []string{"x-whale-throughput-abort-data"},
		SessionCookie:     "sessionid",
		SessionCookies:    []string{"sessionid", "sessionid_ss", "sid_tt", "uid_tt", "passport_csrf_token", "ttwid", "odin_tt", "LOGIN_STATUS"},
		LocalStorageKeys:  []string{"HasUserLogin", "xmst"},

		LoginPanelSelector:    "#login-panel-new",
		LoginButtonText:       "登录",
		QRImageSelector:       `#animate_qrcode_container img, img[alt="二维码"]`,
		LoginStatusCookie:     "LOGIN_STATUS",
		LoginLocalStorageFlag: "HasUserLogin",
		LoginRefusedTexts:     []string{"取消登录", "拒绝"},
		LoginExpiredTexts:     []string{"二维码已失效", "二维码已过期"},
		UserNameSelector:      `[data-e2e="live-avatar"]`,
		IMEntrySelector:       `[data-e2e="im-entry"]`,
		ReactFiberPrefix:      "__reactFiber$",
		IMStoreProp:           "imStore",
		ConversationList:      "converSationListOrigin",
		PushList:              "msgListToPush",
		Message: MessageFields{
			ServerID: "serverId", ConversationID: "conversationId", Sender: "sender", Type: "type",
			Content: "content", CreatedAt: "createdAt", IsFromMe: "isFromMe",
		},
		Conversation: ConversationFields{
			ID: "conversationId", Nickname: "nickname", Participants: "participants",
			ParticipantUID: "uid", ParticipantNickname: "nickname",
		},
		TextMessageTypes: []int{7, 1},
		SystemAweType:    701,
		BindingName:      "__twInbox",
	}
}

// noticeFeed is the body of the notice feed.
type noticeFeed struct {
	StatusCode *int     `json:"status_code"`
	Notices    []notice `json:"notice_list_v2"`
}

// notice is one entry of notice_list_v2.
type notice struct {
	NID        flexID         `json:"nid"`
	Type       int            `json:"type"`
	CreateTime int64          `json:"create_time"`
	Comment    *noticeComment `json:"comment"`
}

// noticeComment is the comment part of a comment notice.
type noticeComment struct {
	Comment struct {
		CID        flexID `json:"cid"`
		Text       string `json:"text"`
		CreateTime int64  `json:"create_time"`
		AwemeID    flexID `json:"aweme_id"`
		LabelText  string `json:"label_text"`
		User       struct {
			UID      flexID `json:"uid"`
			Nickname string `json:"nickname"`
		} `json:"user"`
	} `json:"comment"`
	Aweme struct {
		AwemeID flexID `json:"aweme_id"`
		Desc    string `json:"desc"`
	} `json:"aweme"`
}

// messageContent is the JSON string in a message's content field.
type messageContent struct {
	Text    string `json:"text"`
	AweType int    `json:"aweType"`
}
