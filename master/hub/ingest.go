package hub

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/credseal"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// Notification titles, in the language of the contract's examples.
const (
	titleComment       = "新评论"
	titleDirectMessage = "新私信"
)

// maxPushContent bounds the content of a push; the full text stays in the
// stored message.
const maxPushContent = 500

// handleDetected stores a detected message and its notification in one
// transaction, acks only after the commit, and pushes the notification.
func (h *Hub) handleDetected(ctx context.Context, r *request, cur identity, p *protocol.MessageDetected) {
	start := time.Now()
	if p.WorkerID != cur.workerID {
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "worker_id %q does not match this connection's %q", p.WorkerID, cur.workerID))
		return
	}
	acc, err := h.st.GetAccount(ctx, p.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		h.fail(r, protocol.Errorf(protocol.ErrAccountNotFound, "account %q does not exist", p.AccountID))
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "reading account", "account_id", p.AccountID, "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not read the account"))
		return
	}
	d := p.Data
	author, authorID := d.Author()
	raw, _ := json.Marshal(d)
	msg := store.Message{
		AccountID: p.AccountID, MessageType: p.MessageType, PlatformID: d.PlatformID(p.MessageType),
		WorkerMessageID: d.ID, Content: d.Content, AuthorName: author, AuthorID: authorID,
		PostID: string(d.PostID), PostTitle: d.PostTitle, ConversationID: d.ConversationID,
		CreatedAt: d.CreatedAt.Time(), Raw: raw,
	}
	n, dup, err := h.st.IngestMessage(ctx, msg, store.Notification{
		AccountID: acc.ID, AccountName: acc.Name, Type: p.MessageType,
		Title: notificationTitle(p.MessageType), Content: notificationContent(author, d.Content), RelatedID: d.ID,
	})
	if errors.Is(err, store.ErrNotFound) {
		h.fail(r, protocol.Errorf(protocol.ErrAccountNotFound, "account %q does not exist", p.AccountID))
		return
	}
	if err != nil {
		// No ack: the worker keeps the message in its outbox and resends.
		h.log.ErrorContext(ctx, "storing detected message", "account_id", p.AccountID, "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not store the message; it will be resent"))
		return
	}
	h.reply(r, protocol.TypeMessageAck, protocol.MessageAck{Success: true, MessageID: d.ID, Duplicate: dup})
	if h.m != nil {
		h.m.IngestLatency.Observe(time.Since(start).Seconds())
		if dup {
			h.m.Duplicates.Inc()
		} else {
			h.m.MessagesIngested.WithLabelValues(p.MessageType).Inc()
		}
	}
	if !dup {
		h.push(ctx, n)
	}
	h.clearTransientError(ctx, acc)
}

// notificationTitle names a notification by its message type.
func notificationTitle(messageType string) string {
	if messageType == protocol.MessageTypeDirectMessage {
		return titleDirectMessage
	}
	return titleComment
}

// notificationContent is "author: text", as in the contract's example.
func notificationContent(author, text string) string {
	if r := []rune(text); len(r) > maxPushContent {
		text = string(r[:maxPushContent]) + "…"
	}
	if author == "" {
		return text
	}
	return author + ": " + text
}

// push sends a new notification to every device of every user allowed to
// see its account.
func (h *Hub) push(ctx context.Context, n store.Notification) {
	users, err := h.st.AccountViewers(ctx, n.AccountID)
	if err != nil {
		h.log.ErrorContext(ctx, "listing viewers", "account_id", n.AccountID, "err", err)
		return
	}
	rooms := make([]string, len(users))
	for i, u := range users {
		rooms[i] = userRoom(u)
	}
	h.emitTo(protocol.NewMessage(protocol.TypeNotificationPush, pushPayload(n), h.cfg.Now(), ""), rooms...)
	if h.m != nil {
		h.m.NotificationsPushed.Inc()
	}
}

// pushPayload is the contract's master:notification:push payload.
func pushPayload(n store.Notification) protocol.NotificationPush {
	return protocol.NotificationPush{
		ID: n.ID, Type: n.Type, AccountID: n.AccountID, AccountName: n.AccountName, Title: n.Title,
		Content: n.Content, RelatedID: n.RelatedID, CreatedAt: protocol.TimestampOf(n.CreatedAt),
		Cursor: cursorOf(n.Seq),
	}
}

// clearTransientError returns an account to active once it delivers again
// after rate limiting or network trouble; an auth failure waits for new
// credentials instead.
func (h *Hub) clearTransientError(ctx context.Context, a store.Account) {
	recovering := a.Status == protocol.AccountStatusRateLimited ||
		(a.Status == protocol.AccountStatusError && a.NetworkErrors > 0)
	if a.NetworkErrors > 0 {
		_ = h.st.ResetNetworkErrors(ctx, a.ID)
	}
	if !recovering {
		return
	}
	if _, err := h.st.SetAccountStatus(ctx, a.ID, protocol.AccountStatusActive, ""); err != nil {
		h.log.ErrorContext(ctx, "clearing account error", "account_id", a.ID, "err", err)
		return
	}
	h.broadcastAccount(ctx, a.ID)
}

// handleWorkerError records an account's trouble and tells its users.
func (h *Hub) handleWorkerError(ctx context.Context, r *request, cur identity, p *protocol.WorkerError) {
	if p.WorkerID != cur.workerID {
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "worker_id %q does not match this connection's %q", p.WorkerID, cur.workerID))
		return
	}
	h.log.WarnContext(ctx, "worker reported error", "worker_id", cur.workerID, "account_id", p.AccountID,
		"error_type", p.ErrorType, "retry_count", p.Details.RetryCount)
	if p.AccountID == "" {
		return
	}
	if _, err := h.st.GetAccount(ctx, p.AccountID); errors.Is(err, store.ErrNotFound) {
		h.fail(r, protocol.Errorf(protocol.ErrAccountNotFound, "account %q does not exist", p.AccountID))
		return
	}
	var err error
	switch p.ErrorType {
	case protocol.ErrorTypeAuthFailed:
		_, err = h.st.SetAccountStatus(ctx, p.AccountID, protocol.AccountStatusError, nonEmpty(p.ErrorMessage, "credentials expired; log in again"))
	case protocol.ErrorTypeRateLimited:
		_, err = h.st.SetAccountStatus(ctx, p.AccountID, protocol.AccountStatusRateLimited, nonEmpty(p.ErrorMessage, "rate limited by the platform"))
	case protocol.ErrorTypeNetworkError:
		var n int
		n, err = h.st.IncrementNetworkErrors(ctx, p.AccountID)
		if err == nil && n >= h.cfg.NetworkErrorThreshold {
			_, err = h.st.SetAccountStatus(ctx, p.AccountID, protocol.AccountStatusError, nonEmpty(p.ErrorMessage, "network errors"))
		} else if err == nil {
			return // recorded; status unchanged until it repeats
		}
	}
	if err != nil {
		h.log.ErrorContext(ctx, "recording worker error", "account_id", p.AccountID, "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not record the error"))
		return
	}
	h.broadcastAccount(ctx, p.AccountID)
}

// nonEmpty returns s, or def when s is empty.
func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// handleCredentialsUpdate stores an account's rolled cookie jar.
func (h *Hub) handleCredentialsUpdate(ctx context.Context, r *request, cur identity, p *protocol.CredentialsUpdate) {
	if p.WorkerID != cur.workerID {
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "worker_id %q does not match this connection's %q", p.WorkerID, cur.workerID))
		return
	}
	a, err := h.st.GetAccount(ctx, p.AccountID)
	if err != nil || a.WorkerID != cur.workerID {
		h.fail(r, protocol.Errorf(protocol.ErrAccountNotFound, "account %q is not assigned to this worker", p.AccountID))
		return
	}
	creds, err := credseal.Open(cur.sealKey, p.Credentials, p.AccountID)
	if err != nil {
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "credentials could not be opened with this worker's key"))
		return
	}
	if err := h.storeCredentials(ctx, p.AccountID, a.Platform, creds, p.ExpiresAt); err != nil {
		h.log.ErrorContext(ctx, "storing rolled credentials", "account_id", p.AccountID, "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not store the credentials"))
		return
	}
	h.reply(r, protocol.TypeCredentialsUpdate+":ack", protocol.TaskAssignAck{Success: true, AccountID: p.AccountID})
}

// roomOf converts a room name for the Socket.IO API.
func roomOf(name string) socket.Room { return socket.Room(name) }

// jsonMarshal is json.Marshal, named for what the call sites mean.
func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
