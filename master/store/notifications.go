package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Message types.
const (
	MessageComment       = "comment"
	MessageDirectMessage = "direct_message"
)

// Limits for notification queries.
const (
	// DefaultNotificationLimit is the page size when a limit is not positive.
	DefaultNotificationLimit = 100

	// MaxNotificationLimit caps any page size.
	MaxNotificationLimit = 1000
)

// Message is a comment or direct message detected by a worker.
type Message struct {
	AccountID       string
	MessageType     string // MessageComment or MessageDirectMessage
	PlatformID      string // the platform's id of the item: dedupe key with AccountID and MessageType
	WorkerMessageID string // the worker's id for it (contract: data.id), echoed in the ack
	Content         string
	AuthorName      string
	AuthorID        string
	PostID          string
	PostTitle       string
	ConversationID  string
	CreatedAt       time.Time // platform time
	Raw             json.RawMessage
}

// Notification is what clients receive for a detected message.
type Notification struct {
	// Seq is the server sequence: strictly increasing in commit order and
	// never reused, so it is a safe sync cursor.
	Seq         int64
	ID          string
	AccountID   string
	AccountName string
	Type        string
	Title       string
	Content     string
	RelatedID   string
	CreatedAt   time.Time // time of ingest
	Read        bool      // read by the viewer of the query
}

// NotificationFilter selects notifications for ListNotifications. Zero
// fields do not filter.
type NotificationFilter struct {
	AccountID string
	Type      string
	Since     time.Time // created at or after
	Until     time.Time // created before
	Read      *bool     // read state for the viewer
	BeforeSeq int64     // cursor for newest-first paging: seq strictly less
	Limit     int       // DefaultNotificationLimit if not positive, at most MaxNotificationLimit
}

// SQL for ingest and notifications. Visibility: an admin sees every
// notification (each belongs to an existing account); a user sees those of
// accounts they own, through the join on accounts.owner_id.
const (
	sqlIngestAccountName = `SELECT name FROM accounts WHERE id = ?`
	sqlInsertMessage     = `INSERT INTO messages (id, account_id, message_type, platform_id, worker_message_id,
	content, author_name, author_id, post_id, post_title, conversation_id, created_at, ingested_at, raw)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account_id, message_type, platform_id) DO NOTHING`
	sqlInsertNotification = `INSERT INTO notifications (id, account_id, message_id, account_name, type, title,
	content, related_id, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`
	sqlNotificationColumns = `n.seq, n.id, n.account_id, n.account_name, n.type, n.title, n.content,
	n.related_id, n.created_at`
	sqlNotificationOfMessage = `SELECT ` + sqlNotificationColumns + `, 0 FROM notifications n
JOIN messages m ON m.id = n.message_id
WHERE m.account_id = ? AND m.message_type = ? AND m.platform_id = ?`

	// sqlNotificationsFrom selects notifications with the viewer's read flag;
	// ?1 is the viewer's user id. sqlOwnedJoin is appended for non-admins.
	sqlNotificationsFrom = `SELECT ` + sqlNotificationColumns + `, r.user_id IS NOT NULL
FROM notifications n
LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = ?1`
	sqlOwnedJoin = `
JOIN accounts a ON a.id = n.account_id AND a.owner_id = ?1`

	sqlNotificationsAfterWhere = `
WHERE n.seq > ?2 AND n.created_at > ?3
ORDER BY n.seq
LIMIT ?4`
	sqlNotificationByIDWhere = `
WHERE n.id = ?2`

	sqlInsertRead = `INSERT INTO notification_reads (notification_id, user_id, read_at) VALUES (?, ?, ?)
ON CONFLICT (notification_id, user_id) DO NOTHING`

	sqlUnreadCountAll = `SELECT count(*) FROM notifications n
WHERE NOT EXISTS (SELECT 1 FROM notification_reads r WHERE r.notification_id = n.id AND r.user_id = ?1)`
	sqlUnreadCountOwned = `SELECT count(*) FROM notifications n
JOIN accounts a ON a.id = n.account_id AND a.owner_id = ?1
WHERE NOT EXISTS (SELECT 1 FROM notification_reads r WHERE r.notification_id = n.id AND r.user_id = ?1)`
)

// validMessageType reports whether t is a known message type.
func validMessageType(t string) bool {
	return t == MessageComment || t == MessageDirectMessage
}

// IngestMessage stores a detected message and its notification in one
// transaction. The caller fills n.Title and n.Content (and may fill Type,
// AccountName, RelatedID; they default to the message type, the account's
// name and the worker's message id); ID, Seq and CreatedAt are assigned
// here. If the message was stored before (same account, type and platform
// id) nothing is written and the earlier notification is returned with
// dup=true (with only AccountID, Type and RelatedID set if that
// notification was already pruned). It returns ErrNotFound if the account
// does not exist.
//
// Once this returns without error the message is durably committed and may
// be acknowledged to the worker. Prune forgets old messages, so a message
// resent after its retention would be notified again.
func (s *Store) IngestMessage(ctx context.Context, m Message, n Notification) (Notification, bool, error) {
	if m.AccountID == "" || m.PlatformID == "" {
		return Notification{}, false, fmt.Errorf("%w: account id and platform id are required", ErrInvalid)
	}
	if !validMessageType(m.MessageType) {
		return Notification{}, false, fmt.Errorf("%w: message type %q", ErrInvalid, m.MessageType)
	}
	if m.Raw != nil && !json.Valid(m.Raw) {
		return Notification{}, false, fmt.Errorf("%w: raw is not JSON", ErrInvalid)
	}

	var dup bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var accountName string
		err := tx.QueryRowContext(ctx, sqlIngestAccountName, m.AccountID).Scan(&accountName)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %q: %w", m.AccountID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("reading account: %w", err)
		}

		now := s.nowDB()
		msgID := newID(prefixMessage, idBytes)
		res, err := tx.ExecContext(ctx, sqlInsertMessage, msgID, m.AccountID, m.MessageType, m.PlatformID,
			m.WorkerMessageID, m.Content, m.AuthorName, m.AuthorID, m.PostID, m.PostTitle, m.ConversationID,
			toDB(m.CreatedAt), now, nullJSON(m.Raw))
		if err != nil {
			return fmt.Errorf("inserting message: %w", err)
		}
		if affected, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("inserting message: %w", err)
		} else if affected == 0 {
			dup = true
			n, err = scanNotification(tx.QueryRowContext(ctx, sqlNotificationOfMessage,
				m.AccountID, m.MessageType, m.PlatformID))
			if errors.Is(err, sql.ErrNoRows) {
				// Prune removed the notification but not yet the message:
				// still a duplicate, and the worker must get its ack.
				n = Notification{AccountID: m.AccountID, Type: m.MessageType, RelatedID: m.WorkerMessageID}

				return nil
			}
			if err != nil {
				return fmt.Errorf("reading earlier notification: %w", err)
			}

			return nil
		}

		n.ID, n.AccountID, n.CreatedAt, n.Read = newID(prefixNotification, idBytes), m.AccountID, fromDB(now), false
		if n.AccountName == "" {
			n.AccountName = accountName
		}
		if n.Type == "" {
			n.Type = m.MessageType
		}
		if n.RelatedID == "" {
			n.RelatedID = m.WorkerMessageID
		}
		err = tx.QueryRowContext(ctx, sqlInsertNotification, n.ID, n.AccountID, msgID, n.AccountName, n.Type,
			n.Title, n.Content, n.RelatedID, now).Scan(&n.Seq)
		if err != nil {
			return fmt.Errorf("inserting notification: %w", err)
		}

		return nil
	})
	if err != nil {
		return Notification{}, false, err
	}

	return n, dup, nil
}

// scanNotification reads sqlNotificationColumns and the read flag.
func scanNotification(sc scanner) (Notification, error) {
	var (
		n       Notification
		created int64
	)
	err := sc.Scan(&n.Seq, &n.ID, &n.AccountID, &n.AccountName, &n.Type, &n.Title, &n.Content, &n.RelatedID,
		&created, &n.Read)
	n.CreatedAt = fromDB(created)

	return n, err
}

// queryNotifications runs a notification query and splits off the extra row
// that tells whether more remain.
func (s *Store) queryNotifications(ctx context.Context, limit int, query string, args ...any) ([]Notification, bool, error) {
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("querying notifications: %w", err)
	}
	defer func() { _ = rows.Close() }()

	var list []Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, false, fmt.Errorf("scanning notification: %w", err)
		}
		list = append(list, n)
	}
	if err = rows.Err(); err != nil {
		return nil, false, fmt.Errorf("querying notifications: %w", err)
	}

	if len(list) > limit {
		return list[:limit], true, nil
	}

	return list, false, nil
}

// clampLimit applies the default and the maximum page size.
func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultNotificationLimit
	case limit > MaxNotificationLimit:
		return MaxNotificationLimit
	default:
		return limit
	}
}

// visibleFrom returns the FROM part of a notification query for v.
func visibleFrom(v Viewer) string {
	if v.Admin {
		return sqlNotificationsFrom
	}

	return sqlNotificationsFrom + sqlOwnedJoin
}

// NotificationsAfter returns the notifications visible to v with seq
// strictly greater than afterSeq and, unless afterTime is zero, created
// strictly after afterTime, oldest first, at most limit of them; hasMore
// reports whether more remain. Each carries v's read state.
//
// Because the store has a single writer, seq order is commit order: a
// reader never sees seq N+1 before N, so paging by seq never skips.
func (s *Store) NotificationsAfter(ctx context.Context, v Viewer, afterTime time.Time, afterSeq int64, limit int) ([]Notification, bool, error) {
	limit = clampLimit(limit)
	timeBound := int64(math.MinInt64)
	if !afterTime.IsZero() {
		timeBound = afterTime.UnixNano()
	}

	return s.queryNotifications(ctx, limit, visibleFrom(v)+sqlNotificationsAfterWhere,
		v.UserID, afterSeq, timeBound, limit+1)
}

// ListNotifications returns the notifications visible to v that match f,
// newest first; hasMore reports whether more remain (page on with
// f.BeforeSeq set to the last Seq returned).
func (s *Store) ListNotifications(ctx context.Context, v Viewer, f NotificationFilter) ([]Notification, bool, error) {
	limit := clampLimit(f.Limit)
	var (
		conds []string
		args  = []any{v.UserID}
	)
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.AccountID != "" {
		add("n.account_id = ?%d", f.AccountID)
	}
	if f.Type != "" {
		add("n.type = ?%d", f.Type)
	}
	if !f.Since.IsZero() {
		add("n.created_at >= ?%d", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("n.created_at < ?%d", f.Until.UnixNano())
	}
	if f.BeforeSeq > 0 {
		add("n.seq < ?%d", f.BeforeSeq)
	}
	if f.Read != nil {
		if *f.Read {
			conds = append(conds, "r.user_id IS NOT NULL")
		} else {
			conds = append(conds, "r.user_id IS NULL")
		}
	}

	var b strings.Builder
	b.WriteString(visibleFrom(v))
	if len(conds) > 0 {
		b.WriteString("\nWHERE ")
		b.WriteString(strings.Join(conds, " AND "))
	}
	args = append(args, limit+1)
	fmt.Fprintf(&b, "\nORDER BY n.seq DESC\nLIMIT ?%d", len(args))

	return s.queryNotifications(ctx, limit, b.String(), args...)
}

// MarkRead marks the notification read for v's user and returns it (Read is
// true). changed is false when it was already read. It returns ErrNotFound
// if the notification does not exist or v may not see it.
func (s *Store) MarkRead(ctx context.Context, v Viewer, notificationID string) (Notification, bool, error) {
	if v.UserID == "" {
		return Notification{}, false, fmt.Errorf("%w: viewer has no user id", ErrInvalid)
	}

	var (
		n       Notification
		changed bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = scanNotification(tx.QueryRowContext(ctx, visibleFrom(v)+sqlNotificationByIDWhere, v.UserID, notificationID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("notification %q: %w", notificationID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("reading notification: %w", err)
		}
		if n.Read {
			return nil
		}

		res, err := tx.ExecContext(ctx, sqlInsertRead, notificationID, v.UserID, s.nowDB())
		if err != nil {
			return fmt.Errorf("marking read: %w", err)
		}
		affected, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("marking read: %w", err)
		}
		changed, n.Read = affected == 1, true

		return nil
	})
	if err != nil {
		return Notification{}, false, err
	}

	return n, changed, nil
}

// UnreadCount returns how many notifications visible to v that user has not
// read.
func (s *Store) UnreadCount(ctx context.Context, v Viewer) (int, error) {
	query := sqlUnreadCountOwned
	if v.Admin {
		query = sqlUnreadCountAll
	}

	var n int
	if err := s.rdb.QueryRowContext(ctx, query, v.UserID).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting unread: %w", err)
	}

	return n, nil
}
