package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
)

// Page sizes of GET /notifications.
const (
	defaultNotificationLimit = 50
	maxNotificationLimit     = 500
)

// notificationView is a notification as the API shows it, in the shape of
// master:notification:push plus the caller's read state.
type notificationView struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	Title       string `json:"title"`
	Content     string `json:"content"`
	RelatedID   string `json:"related_id"`
	CreatedAt   int64  `json:"created_at"`
	Read        bool   `json:"read"`
}

// notificationList is the body of GET /notifications. NextCursor is set
// when HasMore is; pass it back as ?cursor= for the next (older) page.
type notificationList struct {
	Notifications []notificationView `json:"notifications"`
	NextCursor    string             `json:"next_cursor"`
	HasMore       bool               `json:"has_more"`
}

// handleListNotifications lists the caller's notifications newest first,
// filtered by the query parameters account_id, type, since, until, read,
// limit and cursor.
func (a *api) handleListNotifications(c echo.Context, v store.Viewer) error {
	f, err := notificationFilterOf(c.QueryParams())
	if err != nil {
		return err
	}
	list, more, err := a.st.ListNotifications(c.Request().Context(), v, f)
	if err != nil {
		return fmt.Errorf("listing notifications: %w", err)
	}
	out := notificationList{Notifications: make([]notificationView, 0, len(list)), HasMore: more}
	for _, n := range list {
		out.Notifications = append(out.Notifications, notificationView{
			ID: n.ID, Type: n.Type, AccountID: n.AccountID, AccountName: n.AccountName, Title: n.Title,
			Content: n.Content, RelatedID: n.RelatedID, CreatedAt: unix(n.CreatedAt), Read: n.Read,
		})
	}
	if more && len(list) > 0 {
		out.NextCursor = strconv.FormatInt(list[len(list)-1].Seq, 10)
	}
	return c.JSON(http.StatusOK, out)
}

// notificationFilterOf parses the query parameters of GET /notifications.
func notificationFilterOf(q url.Values) (store.NotificationFilter, error) {
	f := store.NotificationFilter{Limit: defaultNotificationLimit}
	if s := q.Get("account_id"); s != "" {
		if err := checkID(s); err != nil {
			return f, badRequest("account_id %s", err.Error())
		}
		f.AccountID = s
	}
	if s := q.Get("type"); s != "" {
		if s != store.MessageComment && s != store.MessageDirectMessage {
			return f, badRequest("type must be %q or %q", store.MessageComment, store.MessageDirectMessage)
		}
		f.Type = s
	}
	var err error
	if f.Since, err = queryTime(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = queryTime(q, "until"); err != nil {
		return f, err
	}
	if s := q.Get("read"); s != "" {
		r, err := strconv.ParseBool(s)
		if err != nil {
			return f, badRequest("read must be true or false, not %q", s)
		}
		f.Read = &r
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxNotificationLimit {
			return f, badRequest("limit must be a whole number from 1 to %d, not %q", maxNotificationLimit, s)
		}
		f.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return f, badRequest("cursor %q is not one this server gave out", s)
		}
		f.BeforeSeq = n
	}
	return f, nil
}

// queryTime parses an optional Unix time in seconds or milliseconds.
func queryTime(q url.Values, name string) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, badRequest("%s must be a Unix time in seconds or milliseconds, not %q", name, s)
	}
	if protocol.NormalizeUnix(n) != n {
		// Milliseconds: keep their precision.
		return time.UnixMilli(n), nil
	}
	return time.Unix(n, 0), nil
}
