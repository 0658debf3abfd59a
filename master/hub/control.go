package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
)

// ErrWorkerOffline is returned for operations on a worker that is not
// connected.
var ErrWorkerOffline = errors.New("worker is offline")

// WorkerLive is the hub's live view of a worker for the REST API.
type WorkerLive struct {
	Online    bool              `json:"online"`
	Connected bool              `json:"connected"`
	Draining  bool              `json:"draining"`
	History   []HeartbeatSample `json:"history"`
}

// WorkerLive returns the live state of a worker.
func (h *Hub) WorkerLive(id string) WorkerLive {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.workers[id]
	if w == nil {
		return WorkerLive{History: []HeartbeatSample{}}
	}
	return WorkerLive{Online: w.online, Connected: w.connected(), Draining: w.draining, History: slices.Clone(w.history)}
}

// ClientsConnected returns the number of client sockets past client:connect.
func (h *Hub) ClientsConnected() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clients
}

// AccountChanged brings the fleet in line with an account after it was
// created, resumed, paused, or given new credentials or a new interval:
// runnable accounts are (re)assigned with fresh credentials, paused ones
// revoked. Every viewer gets master:account:update.
func (h *Hub) AccountChanged(ctx context.Context, accountID string) error {
	a, err := h.st.GetAccount(ctx, accountID)
	if err != nil {
		return fmt.Errorf("reading account: %w", err)
	}
	switch {
	case !assignable(a.Status) && a.Status != protocol.AccountStatusError:
		// Paused: stop it wherever it runs.
		if a.WorkerID != "" {
			h.sendRevoke(a.WorkerID, a.ID)
			if err := h.st.SetAccountWorker(ctx, a.ID, ""); err != nil {
				return fmt.Errorf("releasing account: %w", err)
			}
		}
	case a.WorkerID != "" && h.workerConnected(a.WorkerID):
		// Still placed: send the assignment again so the worker picks up
		// new credentials or interval.
		h.sendAssign(ctx, a.WorkerID, a.ID)
	case assignable(a.Status):
		h.placeAccount(ctx, a.ID, "")
		return nil // placeAccount broadcasts
	}
	h.broadcastAccount(ctx, a.ID)
	return nil
}

// AccountDeleted revokes a deleted account from its worker and tells the
// users who could see it. Call it after the store deleted the account, with
// the account as it was and the viewers read before deletion.
func (h *Hub) AccountDeleted(a store.Account, viewers []string) {
	if a.WorkerID != "" {
		h.sendRevoke(a.WorkerID, a.ID)
	}
	rooms := make([]string, len(viewers))
	for i, u := range viewers {
		rooms[i] = userRoom(u)
	}
	h.emitTo(protocol.NewMessage(protocol.TypeAccountUpdate, protocol.AccountUpdate{
		AccountID: a.ID, Status: protocol.AccountStatusDeleted,
	}, h.cfg.Now(), ""), rooms...)
}

// ShutdownWorker drains a worker: its accounts move to other workers first,
// then it receives master:shutdown with the grace period.
func (h *Hub) ShutdownWorker(ctx context.Context, workerID, reason string, grace time.Duration) error {
	h.mu.Lock()
	w := h.workers[workerID]
	if w == nil || !w.online || !w.connected() {
		h.mu.Unlock()
		return ErrWorkerOffline
	}
	w.draining = true
	h.mu.Unlock()
	if err := h.st.SetWorkerStatus(ctx, workerID, protocol.WorkerStatusDraining); err != nil {
		return fmt.Errorf("recording draining: %w", err)
	}
	accs, err := h.st.AccountsOfWorker(ctx, workerID)
	if err != nil {
		return fmt.Errorf("listing accounts: %w", err)
	}
	for _, a := range accs {
		h.sendRevoke(workerID, a.ID)
		h.placeAccount(ctx, a.ID, workerID)
	}
	if reason == "" {
		reason = "maintenance"
	}
	h.emitTo(protocol.NewMessage(protocol.TypeShutdown, protocol.Shutdown{
		Reason: reason, GracefulTimeout: int(grace / time.Second),
	}, h.cfg.Now(), ""), workerRoom(workerID))
	h.log.InfoContext(ctx, "worker shutdown requested", "worker_id", workerID, "reason", reason, "moved", len(accs))
	return nil
}

// TokenRevoked takes offline every worker enrolled with a revoked token, so
// a revoked appliance stops receiving credentials at once; its accounts move
// to other workers.
func (h *Hub) TokenRevoked(ctx context.Context, tokenID string) {
	h.mu.Lock()
	var ids []string
	for id, w := range h.workers {
		if w.tokenID == tokenID && w.online {
			ids = append(ids, id)
		}
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.takeOffline(ctx, id, "enrollment token revoked")
	}
}

// workerConnected reports whether a worker has a live socket.
func (h *Hub) workerConnected(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.workers[id]
	return w != nil && w.online && w.connected()
}

// broadcastAccount sends master:account:update with the account's current
// state to every user allowed to see it.
func (h *Hub) broadcastAccount(ctx context.Context, accountID string) {
	a, err := h.st.GetAccount(ctx, accountID)
	if err != nil {
		return
	}
	users, err := h.st.AccountViewers(ctx, accountID)
	if err != nil {
		h.log.ErrorContext(ctx, "listing viewers", "account_id", accountID, "err", err)
		return
	}
	rooms := make([]string, len(users))
	for i, u := range users {
		rooms[i] = userRoom(u)
	}
	h.emitTo(protocol.NewMessage(protocol.TypeAccountUpdate, AccountUpdateOf(a), h.cfg.Now(), ""), rooms...)
}

// AccountUpdateOf is the master:account:update payload for an account: its
// status, or "unassigned" when it should run but no worker has it.
func AccountUpdateOf(a store.Account) protocol.AccountUpdate {
	status := a.Status
	if assignable(status) && a.WorkerID == "" {
		status = protocol.AccountStatusUnassigned
	}
	return protocol.AccountUpdate{AccountID: a.ID, Status: status, ErrorMessage: a.ErrorMessage, WorkerID: a.WorkerID}
}
