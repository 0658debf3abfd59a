package fakedouyin

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// account is the server-side state of one fake account; guarded by
// Server.mu.
type account struct {
	user   User
	videos []Video
	// comments in creation order.
	comments []Comment
	// notices in creation order.
	notices []notice
	// messages in creation order; a message's sequence number is its
	// index + 1, which the IM sync cursor counts.
	messages []Message
	// convs in creation order.
	convs  []*Conversation
	faults Faults
	creds  Credentials
}

// notice is one entry of the notice feed.
type notice struct {
	nid        string
	typ        int
	createTime int64
	comment    Comment
}

// AccountSpec describes an account to create. Every field is optional.
type AccountSpec struct {
	// Nickname of the account; a random one when empty.
	Nickname string `json:"nickname,omitempty"`
	// Videos of the account (aweme_id may be empty); three random ones
	// when empty.
	Videos []Video `json:"videos,omitempty"`
}

// cookie lifetimes of the issued jar.
const (
	sessionLifetime = 60 * 24 * time.Hour
	msTokenLifetime = 10 * 24 * time.Hour
)

// newIDLocked returns a fresh, growing 19-digit id.
func (s *Server) newIDLocked() string {
	s.nextID += 1 + s.rng.Uint64N(9973)
	return strconv.FormatUint(s.nextID, 10)
}

// randHexLocked returns n random bytes in hex.
func (s *Server) randHexLocked(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.rng.UintN(256))
	}
	return hex.EncodeToString(b)
}

// randTokenLocked returns n random characters of the URL-safe alphabet.
func (s *Server) randTokenLocked(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// newUserLocked makes a user with fresh ids and the given nickname.
func (s *Server) newUserLocked(nickname string) User {
	for {
		uid := strconv.FormatUint(10_000_000_000+s.rng.Uint64N(90_000_000_000), 10)
		if _, taken := s.accounts[uid]; taken {
			continue
		}
		return User{UID: uid, SecUID: "MS4wLjABAAAA" + s.randTokenLocked(43), Nickname: nickname}
	}
}

// CreateAccount creates an account and issues its first credentials.
func (s *Server) CreateAccount(spec AccountSpec) (AccountInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createAccountLocked(spec).info(), nil
}

// createAccountLocked implements CreateAccount.
func (s *Server) createAccountLocked(spec AccountSpec) *account {
	nick := spec.Nickname
	if nick == "" {
		nick = pick(s.rng, creatorNames) + strconv.Itoa(s.rng.IntN(1000))
	}
	a := &account{user: s.newUserLocked(nick)}
	videos := spec.Videos
	if len(videos) == 0 {
		for range 3 {
			videos = append(videos, Video{Desc: pick(s.rng, videoDescs)})
		}
	}
	for _, v := range videos {
		if v.AwemeID == "" {
			v.AwemeID = s.newIDLocked()
		}
		a.videos = append(a.videos, v)
	}
	s.accounts[a.user.UID] = a
	s.order = append(s.order, a.user.UID)
	s.issueCredentialsLocked(a)
	s.log.Info("account created", "uid", a.user.UID)
	return a
}

// info copies the public view of a.
func (a *account) info() AccountInfo {
	return AccountInfo{
		User:   a.user,
		Videos: slices.Clone(a.videos),
		Credentials: Credentials{
			Cookies:      slices.Clone(a.creds.Cookies),
			LocalStorage: mapsClone(a.creds.LocalStorage),
		},
		Faults: a.faults,
	}
}

// mapsClone copies a string map.
func mapsClone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Account returns the account with uid.
func (s *Server) Account(uid string) (AccountInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[uid]
	if !ok {
		return AccountInfo{}, fmt.Errorf("account %s: %w", uid, ErrNotFound)
	}
	return a.info(), nil
}

// Accounts lists every account in creation order.
func (s *Server) Accounts() []AccountInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AccountInfo, 0, len(s.order))
	for _, uid := range s.order {
		out = append(out, s.accounts[uid].info())
	}
	return out
}

// issueCredentialsLocked starts a new login session for a and stores its
// jar; the jar is also what a confirmed QR login sets.
func (s *Server) issueCredentialsLocked(a *account) {
	now := s.now()
	sid := s.randHexLocked(16)
	s.sessions[sid] = a.user.UID
	long := float64(now.Add(sessionLifetime).Unix())
	mk := func(name, value string, httpOnly bool, expires float64) Cookie {
		return Cookie{
			Name: name, Value: value, Domain: s.cookieDomain, Path: "/",
			Expires: expires, HTTPOnly: httpOnly, SameSite: "Lax",
		}
	}
	a.creds = Credentials{
		Cookies: []Cookie{
			mk(CookieSessionID, sid, true, long),
			mk(CookieSessionIDSS, sid, true, long),
			mk(CookieSidTT, sid, true, long),
			mk(CookieSidGuard, sidGuard(sid, now), true, long),
			mk(CookieUIDTT, s.randHexLocked(16), true, long),
			mk(CookieCSRF, s.randHexLocked(16), false, long),
			mk(CookieTTWID, "1%7C"+s.randTokenLocked(43)+"%7C"+strconv.FormatInt(now.Unix(), 10)+"%7C"+s.randHexLocked(32), true, long),
			mk(CookieMsToken, s.randTokenLocked(107), false, float64(now.Add(msTokenLifetime).Unix())),
			mk(CookieOdinTT, s.randHexLocked(64), true, long),
			mk(CookieLoginStatus, "1", false, long),
		},
		LocalStorage: map[string]string{
			LocalHasUserLogin: localHasUserLoginV,
			LocalXmst:         s.randTokenLocked(120),
		},
	}
}

// sidGuard formats a sid_guard value: session, issue time, lifetime and
// expiry, URL-encoded as the real cookie is.
func sidGuard(sid string, at time.Time) string {
	exp := at.Add(sessionLifetime).UTC().Format("Mon, 02-Jan-2006 15:04:05 GMT")
	return url.QueryEscape(fmt.Sprintf("%s|%d|%d|%s", sid, at.Unix(), int64(sessionLifetime/time.Second), exp))
}

// rollCookiesLocked renews msToken and sid_guard of a's jar, as the real
// site does on page loads, and returns the changed cookies.
func (s *Server) rollCookiesLocked(a *account, sid string) []Cookie {
	now := s.now()
	var changed []Cookie
	for i, c := range a.creds.Cookies {
		switch c.Name {
		case CookieMsToken:
			c.Value = s.randTokenLocked(107)
			c.Expires = float64(now.Add(msTokenLifetime).Unix())
		case CookieSidGuard:
			c.Value = sidGuard(sid, now)
		default:
			continue
		}
		a.creds.Cookies[i] = c
		changed = append(changed, c)
	}
	return changed
}

// accountLocked returns the account uid or ErrNotFound.
func (s *Server) accountLocked(uid string) (*account, error) {
	a, ok := s.accounts[uid]
	if !ok {
		return nil, fmt.Errorf("account %s: %w", uid, ErrNotFound)
	}
	return a, nil
}

// AddComment adds a comment on one of uid's videos and returns it. A fan's
// comment also produces a notice in the feed; the creator's does not.
func (s *Server) AddComment(uid string, spec CommentSpec) (Comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(uid)
	if err != nil {
		return Comment{}, err
	}
	return s.addCommentLocked(a, spec)
}

// addCommentLocked implements AddComment.
func (s *Server) addCommentLocked(a *account, spec CommentSpec) (Comment, error) {
	aweme := spec.AwemeID
	if aweme == "" {
		if len(a.videos) == 0 {
			return Comment{}, fmt.Errorf("account %s has no video: %w", a.user.UID, ErrNotFound)
		}
		aweme = a.videos[0].AwemeID
	}
	video, ok := a.video(aweme)
	if !ok {
		return Comment{}, fmt.Errorf("video %s: %w", aweme, ErrNotFound)
	}
	replyID := "0"
	if spec.ReplyTo != "" {
		idx := slices.IndexFunc(a.comments, func(c Comment) bool { return c.CID == spec.ReplyTo })
		if idx < 0 {
			return Comment{}, fmt.Errorf("comment %s: %w", spec.ReplyTo, ErrNotFound)
		}
		a.comments[idx].ReplyCommentTotal++
		replyID = spec.ReplyTo
	}
	created := spec.CreateTime
	if created == 0 {
		created = s.now().Unix()
	}
	c := Comment{
		CID:        s.newIDLocked(),
		Text:       spec.Text,
		AwemeID:    video.AwemeID,
		CreateTime: created,
		ReplyID:    replyID,
		DiggCount:  s.rng.IntN(3),
		IPLabel:    pick(s.rng, ipLabels),
	}
	switch {
	case spec.FromCreator:
		c.User = a.user
		c.LabelText = LabelAuthor
	case spec.Fan != nil:
		c.User = *spec.Fan
		if c.User.UID == "" {
			fan := s.newUserLocked(c.User.Nickname)
			c.User.UID = fan.UID
			if c.User.SecUID == "" {
				c.User.SecUID = fan.SecUID
			}
		}
		if c.User.Nickname == "" {
			c.User.Nickname = pick(s.rng, fanNames)
		}
	default:
		c.User = s.newUserLocked(pick(s.rng, fanNames))
	}
	if c.Text == "" {
		c.Text = pick(s.rng, commentTexts)
	}
	a.comments = append(a.comments, c)
	if !spec.FromCreator {
		typ := NoticeComment
		switch {
		case spec.Kind == KindMention:
			typ = NoticeMention
		case spec.Kind == KindReply || (spec.Kind == "" && spec.ReplyTo != ""):
			typ = NoticeReply
		}
		a.notices = append(a.notices, notice{nid: s.newIDLocked(), typ: typ, createTime: created, comment: c})
	}
	return c, nil
}

// video finds one of a's videos.
func (a *account) video(awemeID string) (Video, bool) {
	for _, v := range a.videos {
		if v.AwemeID == awemeID {
			return v, true
		}
	}
	return Video{}, false
}

// AddDM adds a direct message to one of uid's conversations and returns
// it.
func (s *Server) AddDM(uid string, spec DMSpec) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(uid)
	if err != nil {
		return Message{}, err
	}
	return s.addDMLocked(a, spec), nil
}

// addDMLocked implements AddDM.
func (s *Server) addDMLocked(a *account, spec DMSpec) Message {
	var peer User
	if spec.Peer != nil {
		peer = *spec.Peer
	}
	if peer.UID == "" {
		// Reuse a peer sometimes so conversations get several messages.
		if spec.Peer == nil && len(a.convs) > 0 && s.rng.IntN(2) == 0 {
			peer = User(a.convs[s.rng.IntN(len(a.convs))].Participants[1])
		} else {
			fresh := s.newUserLocked(peer.Nickname)
			peer.UID, peer.SecUID = fresh.UID, fresh.SecUID
		}
	}
	if peer.SecUID == "" {
		peer.SecUID = "MS4wLjABAAAA" + s.randTokenLocked(43)
	}
	if peer.Nickname == "" {
		peer.Nickname = pick(s.rng, fanNames)
	}
	conv := a.conversationLocked(peer)
	text := spec.Text
	awe := AweTypeText
	if spec.System {
		awe = AweTypeSystem
		if text == "" {
			text = pick(s.rng, systemTexts)
		}
	}
	if text == "" {
		text = pick(s.rng, dmTexts)
	}
	content, _ := json.Marshal(struct {
		Text    string `json:"text"`
		AweType int    `json:"aweType"`
	}{text, awe})
	m := Message{
		ServerID:       s.newIDLocked(),
		ConversationID: conv.ConversationID,
		Sender:         peer.UID,
		SecSender:      peer.SecUID,
		Type:           MessageTypeText,
		Content:        string(content),
		CreatedAt:      s.now().UnixMilli(),
		IsFromMe:       spec.FromMe,
	}
	if spec.FromMe {
		m.Sender, m.SecSender = a.user.UID, a.user.SecUID
	} else {
		conv.UnreadCount++
	}
	a.messages = append(a.messages, m)
	last := m
	conv.LastMessage = &last
	return m
}

// conversationLocked finds or starts a's conversation with peer.
func (a *account) conversationLocked(peer User) *Conversation {
	lo, hi := a.user.UID, peer.UID
	if len(lo) > len(hi) || (len(lo) == len(hi) && lo > hi) {
		lo, hi = hi, lo
	}
	id := "0:1:" + lo + ":" + hi
	for _, c := range a.convs {
		if c.ConversationID == id {
			return c
		}
	}
	c := &Conversation{
		ConversationID:      id,
		ConversationShortID: strconv.FormatUint(uint64(len(a.convs)+1)*7_000_003+7_100_000_000_000_000_000, 10),
		Participants: []Participant{
			{UID: a.user.UID, SecUID: a.user.SecUID, Nickname: a.user.Nickname},
			{UID: peer.UID, SecUID: peer.SecUID, Nickname: peer.Nickname},
		},
		Nickname: peer.Nickname,
	}
	a.convs = append(a.convs, c)
	return c
}

// SetFaults applies the set fields of p to uid's faults and returns them.
func (s *Server) SetFaults(uid string, p FaultsPatch) (Faults, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(uid)
	if err != nil {
		return Faults{}, err
	}
	f := &a.faults
	set := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	set(&f.Expired, p.Expired)
	set(&f.Captcha, p.Captcha)
	set(&f.Throttle, p.Throttle)
	set(&f.Drop, p.Drop)
	if p.SlowMS != nil {
		f.SlowMS = max(*p.SlowMS, 0)
		f.Slow = time.Duration(f.SlowMS) * time.Millisecond
	}
	s.log.Info("faults changed", "uid", uid, "expired", f.Expired, "captcha", f.Captcha,
		"throttle", f.Throttle, "drop", f.Drop, "slow_ms", f.SlowMS)
	return *f, nil
}
