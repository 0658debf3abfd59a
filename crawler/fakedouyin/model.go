package fakedouyin

import (
	"time"
)

// User is a Douyin user as the APIs show it.
type User struct {
	// UID is the numeric user id, as a string.
	UID string `json:"uid"`
	// SecUID is the opaque public user id ("MS4wLjABAAAA…").
	SecUID string `json:"sec_uid"`
	// Nickname is the display name.
	Nickname string `json:"nickname"`
}

// Video is one of an account's works.
type Video struct {
	// AwemeID is the 19-digit video id.
	AwemeID string `json:"aweme_id"`
	// Desc is the video's caption, used as the post title.
	Desc string `json:"desc"`
}

// Comment is a comment as the creator centre's comment list returns it.
type Comment struct {
	CID               string `json:"cid"`
	Text              string `json:"text"`
	AwemeID           string `json:"aweme_id"`
	CreateTime        int64  `json:"create_time"`
	ReplyID           string `json:"reply_id"`
	ReplyCommentTotal int    `json:"reply_comment_total"`
	DiggCount         int    `json:"digg_count"`
	LabelText         string `json:"label_text"`
	IPLabel           string `json:"ip_label"`
	User              User   `json:"user"`
}

// Message is a direct message as it appears in imStore.
type Message struct {
	// ServerID is a unique id above 2^53, kept as a decimal string so it
	// survives JavaScript numbers.
	ServerID       string `json:"serverId"`
	ConversationID string `json:"conversationId"`
	// Sender is the uid of the author.
	Sender    string `json:"sender"`
	SecSender string `json:"secSender"`
	Type      int    `json:"type"`
	// Content is a JSON string such as {"text":"你好","aweType":0}.
	Content   string `json:"content"`
	CreatedAt int64  `json:"createdAt"`
	IsFromMe  bool   `json:"isFromMe"`
}

// Cookie is one cookie of a jar, in the shape of CDP's network.Cookie so a
// crawler can hand it to Network.setCookies field by field.
type Cookie struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Domain string `json:"domain"`
	Path   string `json:"path"`
	// Expires is seconds since the epoch; -1 for a session cookie.
	Expires  float64 `json:"expires"`
	HTTPOnly bool    `json:"httpOnly"`
	Secure   bool    `json:"secure"`
	Session  bool    `json:"session"`
	SameSite string  `json:"sameSite,omitempty"`
}

// Credentials is what makes a browser logged in as an account: its cookie
// jar plus the localStorage keys of the www origin.
type Credentials struct {
	Cookies      []Cookie          `json:"cookies"`
	LocalStorage map[string]string `json:"localStorage"`
}

// AccountInfo describes a fake account and the credentials last issued for it.
type AccountInfo struct {
	User
	Videos      []Video     `json:"videos"`
	Credentials Credentials `json:"credentials"`
	Faults      Faults      `json:"faults"`
}

// Faults are the failure modes switched on for one account.
type Faults struct {
	// Expired makes pages redirect to the login page and APIs answer
	// status_code 8.
	Expired bool `json:"expired"`
	// Captcha serves the captcha interstitial instead of pages and adds the
	// bdturing header to API answers.
	Captcha bool `json:"captcha"`
	// Throttle answers APIs with 200, an empty body and the whale header.
	Throttle bool `json:"throttle"`
	// Drop closes the connection of every request without an answer.
	Drop bool `json:"drop"`
	// Slow spreads each API body over this long after the headers.
	Slow time.Duration `json:"-"`
	// SlowMS is Slow in milliseconds, for JSON.
	SlowMS int64 `json:"slow_ms"`
}

// FaultsPatch changes the faults whose fields are set.
type FaultsPatch struct {
	Expired  *bool `json:"expired,omitempty"`
	Captcha  *bool `json:"captcha,omitempty"`
	Throttle *bool `json:"throttle,omitempty"`
	Drop     *bool `json:"drop,omitempty"`
	// SlowMS sets the slow delay in milliseconds; 0 turns it off.
	SlowMS *int64 `json:"slow_ms,omitempty"`
}

// CommentKind chooses the notice a fan comment produces.
type CommentKind string

// Comment kinds.
const (
	// KindComment is a plain comment on the video (notice type 31).
	KindComment CommentKind = "comment"
	// KindMention is a comment that @mentions the account (type 32).
	KindMention CommentKind = "mention"
	// KindReply is a reply to one of the account's comments (type 33).
	KindReply CommentKind = "reply"
)

// CommentSpec describes a comment to add.
type CommentSpec struct {
	// AwemeID is the video; empty means the account's first video.
	AwemeID string `json:"aweme_id,omitempty"`
	// Text is the comment text; empty picks a random one.
	Text string `json:"text,omitempty"`
	// FromCreator makes the account itself the author (label "作者", no
	// notice).
	FromCreator bool `json:"from_creator,omitempty"`
	// Fan is the author; nil picks a random fan.
	Fan *User `json:"fan,omitempty"`
	// Kind is the notice type; empty means KindComment, or KindReply when
	// ReplyTo is set.
	Kind CommentKind `json:"kind,omitempty"`
	// ReplyTo is the cid this comment answers, if any.
	ReplyTo string `json:"reply_to,omitempty"`
	// CreateTime overrides the creation time (seconds); 0 means now.
	CreateTime int64 `json:"create_time,omitempty"`
}

// DMSpec describes a direct message to add.
type DMSpec struct {
	// Text is the message text; empty picks a random one.
	Text string `json:"text,omitempty"`
	// Peer is the other side of the conversation; nil picks a random fan.
	Peer *User `json:"peer,omitempty"`
	// FromMe makes the account the sender.
	FromMe bool `json:"from_me,omitempty"`
	// System makes it a system notice (aweType 701) in the conversation.
	System bool `json:"system,omitempty"`
}

// Conversation is an entry of imStore.converSationListOrigin.
type Conversation struct {
	ConversationID string `json:"conversationId"`
	// ConversationShortID mirrors the real store's numeric short id.
	ConversationShortID string `json:"conversationShortId"`
	// Participants lists both sides with their nicknames.
	Participants []Participant `json:"participants"`
	// Nickname is the peer's nickname, for convenience.
	Nickname    string   `json:"nickname"`
	LastMessage *Message `json:"lastMessage"`
	UnreadCount int      `json:"unreadCount"`
}

// Participant is a member of a conversation.
type Participant struct {
	UID      string `json:"uid"`
	SecUID   string `json:"secUid"`
	Nickname string `json:"nickname"`
}
