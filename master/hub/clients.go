package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
)

// handleClientConnect authenticates a device with its JWT.
func (h *Hub) handleClientConnect(ctx context.Context, r *request, p *protocol.ClientConnect) {
	claims, err := h.issuer.Verify(p.AuthToken)
	if err != nil {
		h.fail(r, protocol.Errorf(protocol.ErrAuthFailed, "auth_token is not valid or has expired"))
		return
	}
	u, err := h.st.GetUser(ctx, claims.UserID)
	if err != nil {
		h.fail(r, protocol.Errorf(protocol.ErrAuthFailed, "the token's user no longer exists"))
		return
	}
	if err := h.st.UpsertDevice(ctx, store.Device{
		UserID: u.ID, DeviceID: p.DeviceID, DeviceType: p.DeviceType, DeviceName: p.DeviceName, LastSeenAt: h.cfg.Now(),
	}); err != nil {
		h.log.ErrorContext(ctx, "recording device", "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not record the device"))
		return
	}
	v := store.Viewer{UserID: u.ID, Admin: u.Admin}
	unread, err := h.st.UnreadCount(ctx, v)
	if err != nil {
		h.log.ErrorContext(ctx, "counting unread", "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not count unread notifications"))
		return
	}
	sid := newSessionID()
	r.c.mu.Lock()
	first := r.c.role == protocol.RoleNone
	r.c.role, r.c.userID, r.c.admin, r.c.deviceID, r.c.sessionID = protocol.RoleClient, u.ID, u.Admin, p.DeviceID, sid
	r.c.mu.Unlock()
	r.c.sock.Join(roomOf(userRoom(u.ID)))
	if first {
		h.mu.Lock()
		h.clients++
		h.mu.Unlock()
		if h.m != nil {
			h.m.ClientsConnected.Inc()
		}
	}
	h.log.InfoContext(ctx, "client connected", "user_id", u.ID, "device_id", p.DeviceID, "device_type", p.DeviceType)
	h.reply(r, protocol.TypeClientConnectAck, protocol.ClientConnectAck{Success: true, SessionID: sid, UnreadNotifications: unread})
}

// newSessionID returns a random session id.
func newSessionID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "session-" + hex.EncodeToString(b)
}

// cursorOf renders a sequence number as a sync cursor.
func cursorOf(seq int64) string {
	if seq <= 0 {
		return ""
	}
	return strconv.FormatInt(seq, 10)
}

// handleSync answers client:sync:request with everything after the
// client's cursor, or, for a contract-only client, since last_sync_time.
func (h *Hub) handleSync(ctx context.Context, r *request, cur identity, p *protocol.SyncRequest) {
	v := store.Viewer{UserID: cur.userID, Admin: cur.admin}
	limit := h.cfg.SyncPageSize
	if p.Limit > 0 && p.Limit < limit {
		limit = p.Limit
	}
	var afterSeq int64
	var afterTime time.Time
	if p.Cursor != "" {
		// The cursor is exact; a time bound on top could only hide
		// notifications from the same second.
		afterSeq, _ = strconv.ParseInt(string(p.Cursor), 10, 64)
	} else if p.LastSyncTime > 0 {
		// Seconds are coarse: include the boundary second rather than risk
		// losing what arrived in it. Clients dedupe by id.
		afterTime = p.LastSyncTime.Time().Add(-time.Second)
	}
	ns, more, err := h.st.NotificationsAfter(ctx, v, afterTime, afterSeq, limit)
	if err != nil {
		h.log.ErrorContext(ctx, "syncing", "user_id", cur.userID, "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not read notifications"))
		return
	}
	out := protocol.SyncResponse{Success: true, Notifications: make([]protocol.SyncedNotification, 0, len(ns)), HasMore: more, Cursor: string(p.Cursor)}
	for _, n := range ns {
		out.Notifications = append(out.Notifications, protocol.SyncedNotification{
			ID: n.ID, Type: n.Type, Title: n.Title, Content: n.Content, CreatedAt: protocol.TimestampOf(n.CreatedAt),
			AccountID: n.AccountID, AccountName: n.AccountName, RelatedID: n.RelatedID, Read: n.Read, Cursor: cursorOf(n.Seq),
		})
		out.Cursor = cursorOf(n.Seq)
	}
	h.reply(r, protocol.TypeSyncResponse, out)
}

// handleRead marks a notification read for the user and tells the user's
// other devices.
func (h *Hub) handleRead(ctx context.Context, r *request, cur identity, p *protocol.NotificationRead) {
	v := store.Viewer{UserID: cur.userID, Admin: cur.admin}
	_, changed, err := h.st.MarkRead(ctx, v, p.NotificationID)
	if errors.Is(err, store.ErrNotFound) {
		h.fail(r, protocol.Errorf(protocol.ErrNotFound, "notification %q does not exist", p.NotificationID))
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "marking read", "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not mark the notification read"))
		return
	}
	h.reply(r, protocol.TypeNotificationReadAck, protocol.NotificationReadAck{Success: true, NotificationID: p.NotificationID})
	if changed {
		msg := protocol.NewMessage(protocol.TypeNotificationReadBy, protocol.NotificationReadBy{
			NotificationID: p.NotificationID, ReadAt: protocol.TimestampOf(h.cfg.Now()), DeviceID: cur.deviceID,
		}, h.cfg.Now(), "")
		v, err := toWire(msg)
		if err == nil {
			_ = r.c.sock.To(roomOf(userRoom(cur.userID))).Emit(protocol.SocketEvent, v)
		}
	}
}
