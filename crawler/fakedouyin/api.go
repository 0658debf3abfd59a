package fakedouyin

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
)

// noticeFeed is the body of the notice feed API.
type noticeFeed struct {
	StatusCode   int          `json:"status_code"`
	NoticeListV2 []noticeJSON `json:"notice_list_v2"`
	HasMore      bool         `json:"has_more"`
	MaxTime      int64        `json:"max_time"`
	MinTime      int64        `json:"min_time"`
}

// noticeJSON is one entry of notice_list_v2.
type noticeJSON struct {
	NID        string         `json:"nid"`
	Type       int            `json:"type"`
	CreateTime int64          `json:"create_time"`
	UserID     string         `json:"user_id"`
	Comment    *noticeComment `json:"comment,omitempty"`
}

// noticeComment is the comment part of a comment notice.
type noticeComment struct {
	Comment noticeCommentBody `json:"comment"`
	Aweme   Video             `json:"aweme"`
}

// noticeCommentBody is the comment inside a comment notice.
type noticeCommentBody struct {
	CID        string `json:"cid"`
	Text       string `json:"text"`
	CreateTime int64  `json:"create_time"`
	AwemeID    string `json:"aweme_id"`
	ReplyID    string `json:"reply_id"`
	User       User   `json:"user"`
}

// queryInt reads an integer query parameter, def when absent or invalid.
func queryInt(r *http.Request, name string, def int64) int64 {
	v, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64)
	if err != nil {
		return def
	}
	return v
}

// apiNoticeDetail answers the notice feed: newest first, count entries,
// older than max_time and newer than min_time when those are set.
func (s *Server) apiNoticeDetail(r *http.Request, req request) any {
	count := int(min(max(queryInt(r, "count", 10), 1), 50))
	maxTime := queryInt(r, "max_time", 0)
	minTime := queryInt(r, "min_time", 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[req.uid]
	out := noticeFeed{StatusCode: StatusOK, NoticeListV2: []noticeJSON{}}
	for i := len(a.notices) - 1; i >= 0; i-- {
		n := a.notices[i]
		if (maxTime > 0 && n.createTime >= maxTime) || (minTime > 0 && n.createTime <= minTime) {
			continue
		}
		if len(out.NoticeListV2) == count {
			out.HasMore = true
			break
		}
		c := n.comment
		video, _ := a.video(c.AwemeID)
		out.NoticeListV2 = append(out.NoticeListV2, noticeJSON{
			NID: n.nid, Type: n.typ, CreateTime: n.createTime, UserID: a.user.UID,
			Comment: &noticeComment{
				Comment: noticeCommentBody{
					CID: c.CID, Text: c.Text, CreateTime: c.CreateTime, AwemeID: c.AwemeID,
					ReplyID: c.ReplyID, User: c.User,
				},
				Aweme: video,
			},
		})
	}
	// Notices of one second may arrive out of order; keep the list sorted.
	slices.SortStableFunc(out.NoticeListV2, func(x, y noticeJSON) int {
		return cmp.Compare(y.CreateTime, x.CreateTime)
	})
	if n := len(out.NoticeListV2); n > 0 {
		out.MaxTime = out.NoticeListV2[0].CreateTime
		out.MinTime = out.NoticeListV2[n-1].CreateTime
	}
	return out
}

// commentList is the body of the creator centre's comment list API.
type commentList struct {
	StatusCode int       `json:"status_code"`
	Comments   []Comment `json:"comments"`
	Cursor     int       `json:"cursor"`
	HasMore    bool      `json:"has_more"`
	Total      int       `json:"total"`
}

// apiCommentList answers the per-video comment list, newest first, paged by
// an offset cursor. Replies are listed flat beside top-level comments.
func (s *Server) apiCommentList(r *http.Request, req request) any {
	aweme := r.URL.Query().Get("aweme_id")
	cursor := int(max(queryInt(r, "cursor", 0), 0))
	count := int(min(max(queryInt(r, "count", 10), 1), 50))
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[req.uid]
	var all []Comment
	for i := len(a.comments) - 1; i >= 0; i-- {
		if a.comments[i].AwemeID == aweme {
			all = append(all, a.comments[i])
		}
	}
	slices.SortStableFunc(all, func(x, y Comment) int { return cmp.Compare(y.CreateTime, x.CreateTime) })
	out := commentList{StatusCode: StatusOK, Comments: []Comment{}, Total: len(all)}
	if cursor < len(all) {
		end := min(cursor+count, len(all))
		out.Comments = append(out.Comments, all[cursor:end]...)
		out.Cursor = end
		out.HasMore = end < len(all)
	} else {
		out.Cursor = cursor
	}
	return out
}

// imSync is the body of the fake's IM sync endpoint.
type imSync struct {
	StatusCode    int            `json:"status_code"`
	Conversations []Conversation `json:"conversations"`
	Messages      []Message      `json:"messages"`
	// Cursor is the sequence number of the last message; send it back to
	// get only newer ones.
	Cursor int `json:"cursor"`
}

// apiIMSync answers the home page's DM poll. cursor=0 (a fresh page)
// replays the most recent messages, as the real store does after a reload.
func (s *Server) apiIMSync(r *http.Request, req request) any {
	cursor := int(max(queryInt(r, "cursor", 0), 0))
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[req.uid]
	out := imSync{StatusCode: StatusOK, Conversations: []Conversation{}, Messages: []Message{}, Cursor: len(a.messages)}
	for _, c := range a.convs {
		cp := *c
		cp.Participants = slices.Clone(c.Participants)
		out.Conversations = append(out.Conversations, cp)
	}
	from := cursor
	if cursor == 0 {
		from = max(len(a.messages)-max(s.cfg.IMReplay, 0), 0)
	}
	if from < len(a.messages) {
		out.Messages = append(out.Messages, a.messages[from:]...)
	}
	return out
}
