package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

// heartbeatHistory is how many heartbeats per worker are kept for the
// dashboard.
const heartbeatHistory = 60

// HeartbeatSample is one recorded heartbeat.
type HeartbeatSample struct {
	At          time.Time `json:"at"`
	CPUUsage    float64   `json:"cpu_usage"`
	MemoryUsage float64   `json:"memory_usage"`
	ActiveTasks int       `json:"active_tasks"`
}

// pendingAssign is a master:task:assign waiting for its ack.
type pendingAssign struct {
	sentAt   time.Time
	attempts int
}

// workerState is the live view of one worker.
type workerState struct {
	id           string
	tokenID      string
	capabilities []string
	maxAccounts  int
	sealKey      []byte
	conn         *conn
	online       bool
	draining     bool

	lastHeartbeat  time.Time
	disconnectedAt time.Time
	history        []HeartbeatSample
	pending        map[string]*pendingAssign
}

// connected reports whether the worker has a live socket.
func (w *workerState) connected() bool { return w.conn != nil }

// handleRegister authenticates a worker and hands it its accounts.
func (h *Hub) handleRegister(ctx context.Context, r *request, p *protocol.WorkerRegister) {
	secret := p.AuthToken
	if t, ok := r.c.sock.Handshake().Auth["token"].(string); ok && t != "" {
		secret = t
	}
	if secret == "" {
		h.fail(r, protocol.Errorf(protocol.ErrAuthFailed, "an enrollment token is required"))
		return
	}
	tok, sealKey, err := h.st.VerifyWorkerToken(ctx, secret)
	if err != nil {
		if !errors.Is(err, store.ErrUnauthorized) {
			h.log.ErrorContext(ctx, "verifying worker token", "err", err)
		}
		h.fail(r, protocol.Errorf(protocol.ErrAuthFailed, "the enrollment token is not valid"))
		return
	}
	// A worker id belongs to the token that first registered it, unless
	// that token was revoked (the appliance was enrolled again).
	if prev, err := h.st.GetWorker(ctx, p.WorkerID); err == nil && prev.TokenID != "" && prev.TokenID != tok.ID {
		if h.tokenActive(ctx, prev.TokenID) {
			h.fail(r, protocol.Errorf(protocol.ErrAuthFailed, "worker id %q is enrolled with another token", p.WorkerID))
			return
		}
	}
	now := h.cfg.Now()
	maxAcc := p.MaxAccounts
	if err := h.st.UpsertWorker(ctx, store.Worker{
		ID: p.WorkerID, TokenID: tok.ID, Host: p.Host, Port: p.Port, Version: p.Version,
		Capabilities: p.Capabilities, MaxAccounts: maxAcc, Status: protocol.WorkerStatusOnline,
		ConnectedAt: now, LastSeenAt: now, LastHeartbeatAt: now,
	}); err != nil {
		h.log.ErrorContext(ctx, "recording worker", "worker_id", p.WorkerID, "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not record the worker"))
		return
	}

	r.c.mu.Lock()
	r.c.role, r.c.workerID, r.c.sealKey, r.c.tokenID = protocol.RoleWorker, p.WorkerID, sealKey, tok.ID
	r.c.mu.Unlock()

	h.mu.Lock()
	w := h.workers[p.WorkerID]
	if w == nil {
		w = &workerState{id: p.WorkerID}
		h.workers[p.WorkerID] = w
	}
	old := w.conn
	wasOnline := w.online
	w.tokenID, w.capabilities, w.maxAccounts, w.sealKey = tok.ID, slices.Clone(p.Capabilities), maxAcc, sealKey
	w.conn, w.online, w.draining = r.c, true, false
	w.lastHeartbeat, w.disconnectedAt = now, time.Time{}
	w.pending = map[string]*pendingAssign{}
	h.mu.Unlock()

	if old != nil && old != r.c {
		// The newer connection wins; the old one must not take the worker
		// offline when it goes.
		old.mu.Lock()
		old.replaced = true
		old.mu.Unlock()
		old.sock.Leave(roomOf(workerRoom(p.WorkerID)))
		old.sock.Disconnect(true)
		h.log.InfoContext(ctx, "worker connection replaced", "worker_id", p.WorkerID)
	}
	r.c.sock.Join(roomOf(workerRoom(p.WorkerID)))
	if !wasOnline && h.m != nil {
		h.m.WorkersOnline.Inc()
	}

	// Hold assignment decisions until the ack is out, so no
	// master:task:assign from the sweep overtakes worker:register:ack.
	h.assignMu.Lock()
	defer h.assignMu.Unlock()
	assigned, err := h.assignOnRegister(ctx, w)
	if err != nil {
		h.log.ErrorContext(ctx, "assigning accounts on register", "worker_id", p.WorkerID, "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not assign accounts"))
		return
	}
	h.log.InfoContext(ctx, "worker registered", "worker_id", p.WorkerID, "host", p.Host,
		"version", p.Version, "max_accounts", maxAcc, "assigned", len(assigned))
	h.reply(r, protocol.TypeWorkerRegisterAck, protocol.WorkerRegisterAck{
		Success: true, AssignedAccounts: assigned,
		HeartbeatInterval: int(h.cfg.HeartbeatInterval / time.Second),
	})
}

// tokenActive reports whether an enrollment token still exists unrevoked.
func (h *Hub) tokenActive(ctx context.Context, id string) bool {
	toks, err := h.st.ListWorkerTokens(ctx)
	if err != nil {
		return true // fail closed: keep the binding
	}
	for _, t := range toks {
		if t.ID == id {
			return t.RevokedAt == nil
		}
	}
	return false
}

// assignOnRegister keeps the accounts the worker held (sticky) and tops it
// up with unassigned ones it can run, up to its capacity. The caller holds
// assignMu.
func (h *Hub) assignOnRegister(ctx context.Context, w *workerState) ([]protocol.AssignedAccount, error) {
	held, err := h.st.AccountsOfWorker(ctx, w.id)
	if err != nil {
		return nil, fmt.Errorf("listing held accounts: %w", err)
	}
	var keep []store.Account
	for _, a := range held {
		switch {
		case !slices.Contains(w.capabilities, a.Platform), len(keep) >= w.maxAccounts, a.Status == protocol.AccountStatusPaused:
			if err := h.st.SetAccountWorker(ctx, a.ID, ""); err != nil {
				return nil, fmt.Errorf("releasing %s: %w", a.ID, err)
			}
			h.broadcastAccount(ctx, a.ID)
		default:
			keep = append(keep, a)
		}
	}
	if room := w.maxAccounts - len(keep); room > 0 {
		free, err := h.st.AssignableAccounts(ctx, w.capabilities)
		if err != nil {
			return nil, fmt.Errorf("listing assignable accounts: %w", err)
		}
		for _, a := range free[:min(room, len(free))] {
			if err := h.st.SetAccountWorker(ctx, a.ID, w.id); err != nil {
				return nil, fmt.Errorf("assigning %s: %w", a.ID, err)
			}
			a.WorkerID = w.id
			keep = append(keep, a)
			h.broadcastAccount(ctx, a.ID)
		}
	}
	out := make([]protocol.AssignedAccount, 0, len(keep))
	for _, a := range keep {
		sealed, err := h.sealCredentials(ctx, a.ID, w.sealKey)
		if err != nil {
			return nil, err
		}
		out = append(out, protocol.AssignedAccount{
			ID: a.ID, Platform: a.Platform, AccountID: a.PlatformAccountID, Credentials: sealed,
			MonitorInterval: a.MonitorInterval, AccountName: a.Name,
		})
	}
	return out, nil
}

// sealCredentials opens an account's stored credentials and seals them for
// one worker.
func (h *Hub) sealCredentials(ctx context.Context, accountID string, key []byte) (string, error) {
	creds, err := h.st.AccountCredentials(ctx, accountID)
	if err != nil {
		return "", fmt.Errorf("reading credentials of %s: %w", accountID, err)
	}
	if len(creds) == 0 {
		return "", nil
	}
	sealed, err := credseal.Seal(key, creds, accountID)
	if err != nil {
		return "", fmt.Errorf("sealing credentials of %s: %w", accountID, err)
	}
	return sealed, nil
}

// handleHeartbeat records a heartbeat.
func (h *Hub) handleHeartbeat(ctx context.Context, r *request, cur identity, p *protocol.WorkerHeartbeat) {
	if p.WorkerID != cur.workerID {
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "worker_id %q does not match this connection's %q", p.WorkerID, cur.workerID))
		return
	}
	now := h.cfg.Now()
	status := p.Status
	h.mu.Lock()
	if w := h.workers[cur.workerID]; w != nil && w.draining {
		status = protocol.WorkerStatusDraining // the master decided; the worker may not know yet
	}
	if w := h.workers[cur.workerID]; w != nil && w.conn == r.c {
		w.lastHeartbeat = now
		w.history = append(w.history, HeartbeatSample{At: now, CPUUsage: p.CPUUsage, MemoryUsage: p.MemoryUsage, ActiveTasks: p.ActiveTasks})
		if over := len(w.history) - heartbeatHistory; over > 0 {
			w.history = slices.Delete(w.history, 0, over)
		}
	}
	h.mu.Unlock()
	var extra []byte
	if p.System != nil || p.OutboxDepth != nil {
		extra, _ = jsonMarshal(map[string]any{"system": p.System, "outbox_depth": p.OutboxDepth})
	}
	if err := h.st.RecordHeartbeat(ctx, cur.workerID, status, p.ActiveTasks, p.MemoryUsage, p.CPUUsage, extra, now); err != nil {
		h.log.ErrorContext(ctx, "recording heartbeat", "worker_id", cur.workerID, "err", err)
		h.fail(r, protocol.Errorf(protocol.ErrInternal, "could not record the heartbeat"))
		return
	}
	h.reply(r, protocol.TypeWorkerHeartbeatAck, protocol.SuccessAck{Success: true})
}

// workerDisconnected starts the grace period of a worker whose socket went.
func (h *Hub) workerDisconnected(id string, c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.workers[id]
	if w == nil || w.conn != c {
		return
	}
	w.conn = nil
	w.disconnectedAt = h.cfg.Now()
	h.log.Info("worker disconnected", "worker_id", id, "draining", w.draining)
}

// sweepLoop is the hub's periodic goroutine: liveness, assignment retries
// and placing unassigned accounts.
func (h *Hub) sweepLoop(ctx context.Context) {
	defer h.wg.Done()
	defer h.recoverGoroutine("sweep")
	t := time.NewTicker(h.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.sweep(ctx)
		}
	}
}

// sweep runs one round of the loop.
func (h *Hub) sweep(ctx context.Context) {
	now := h.cfg.Now()
	var dead []string
	retry := map[string][]string{}
	moveAway := map[string][]string{}
	h.mu.Lock()
	for id, w := range h.workers {
		if !w.online {
			continue
		}
		switch {
		case w.connected() && now.Sub(w.lastHeartbeat) > h.cfg.LivenessTimeout:
			dead = append(dead, id)
		case !w.connected() && (w.draining || now.Sub(w.disconnectedAt) > h.cfg.DisconnectGrace):
			dead = append(dead, id)
		}
		for acc, pa := range w.pending {
			if now.Sub(pa.sentAt) <= h.cfg.AssignAckTimeout {
				continue
			}
			if pa.attempts > h.cfg.AssignRetries {
				delete(w.pending, acc)
				moveAway[id] = append(moveAway[id], acc)
			} else {
				retry[id] = append(retry[id], acc)
			}
		}
	}
	h.mu.Unlock()

	for _, id := range dead {
		h.takeOffline(ctx, id, "missed heartbeats or disconnected past the grace period")
	}
	for id, accs := range retry {
		for _, acc := range accs {
			h.sendAssign(ctx, id, acc)
		}
	}
	for id, accs := range moveAway {
		for _, acc := range accs {
			h.log.WarnContext(ctx, "assignment never acknowledged; moving account", "worker_id", id, "account_id", acc)
			h.sendRevoke(id, acc)
			h.placeAccount(ctx, acc, id)
		}
	}
	h.placeUnassigned(ctx)
	h.sweepLogins(ctx)
}

// takeOffline declares a worker offline and moves its accounts.
func (h *Hub) takeOffline(ctx context.Context, id, why string) {
	h.mu.Lock()
	w := h.workers[id]
	if w == nil || !w.online {
		h.mu.Unlock()
		return
	}
	w.online = false
	c := w.conn
	w.conn = nil
	h.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		c.replaced = true
		c.mu.Unlock()
		c.sock.Disconnect(true)
	}
	if h.m != nil {
		h.m.WorkersOnline.Dec()
	}
	h.log.WarnContext(ctx, "worker offline", "worker_id", id, "why", why)
	if err := h.st.SetWorkerStatus(ctx, id, protocol.WorkerStatusOffline); err != nil {
		h.log.ErrorContext(ctx, "recording worker offline", "worker_id", id, "err", err)
	}
	accs, err := h.st.AccountsOfWorker(ctx, id)
	if err != nil {
		h.log.ErrorContext(ctx, "listing accounts of offline worker", "worker_id", id, "err", err)
		return
	}
	for _, a := range accs {
		h.placeAccount(ctx, a.ID, id)
	}
}

// placeAccount moves an account to the least-loaded capable online worker
// other than avoid, or leaves it unassigned.
func (h *Hub) placeAccount(ctx context.Context, accountID, avoid string) {
	h.assignMu.Lock()
	a, err := h.st.GetAccount(ctx, accountID)
	if err != nil {
		h.assignMu.Unlock()
		if !errors.Is(err, store.ErrNotFound) {
			h.log.ErrorContext(ctx, "reading account to place", "account_id", accountID, "err", err)
		}
		return
	}
	target := ""
	if assignable(a.Status) {
		target = h.pickWorker(ctx, a.Platform, avoid)
	}
	if err := h.st.SetAccountWorker(ctx, accountID, target); err != nil {
		h.assignMu.Unlock()
		h.log.ErrorContext(ctx, "placing account", "account_id", accountID, "err", err)
		return
	}
	h.assignMu.Unlock()
	if target != "" {
		h.log.InfoContext(ctx, "account assigned", "account_id", accountID, "worker_id", target, "from", avoid)
		h.sendAssign(ctx, target, accountID)
	} else if avoid != "" {
		h.log.WarnContext(ctx, "account unassigned: no capable worker with room", "account_id", accountID)
	}
	h.broadcastAccount(ctx, accountID)
}

// placeUnassigned gives unassigned active accounts to workers with room.
func (h *Hub) placeUnassigned(ctx context.Context) {
	h.mu.Lock()
	var caps []string
	for _, w := range h.workers {
		if w.online && w.connected() && !w.draining {
			for _, c := range w.capabilities {
				if !slices.Contains(caps, c) {
					caps = append(caps, c)
				}
			}
		}
	}
	h.mu.Unlock()
	if len(caps) == 0 {
		return
	}
	free, err := h.st.AssignableAccounts(ctx, caps)
	if err != nil {
		h.log.ErrorContext(ctx, "listing unassigned accounts", "err", err)
		return
	}
	for _, a := range free {
		if h.pickWorker(ctx, a.Platform, "") == "" {
			continue
		}
		h.placeAccount(ctx, a.ID, "")
	}
}

// pickWorker returns the least-loaded connected, non-draining worker that
// runs platform and has room, or "".
func (h *Hub) pickWorker(ctx context.Context, platform, avoid string) string {
	type cand struct {
		id   string
		room int
	}
	h.mu.Lock()
	var cands []cand
	for id, w := range h.workers {
		if id == avoid || !w.online || !w.connected() || w.draining || !slices.Contains(w.capabilities, platform) {
			continue
		}
		cands = append(cands, cand{id: id, room: w.maxAccounts})
	}
	h.mu.Unlock()
	best := ""
	bestLoad := 0
	sort.Slice(cands, func(i, j int) bool { return cands[i].id < cands[j].id })
	for _, c := range cands {
		accs, err := h.st.AccountsOfWorker(ctx, c.id)
		if err != nil {
			continue
		}
		if len(accs) >= c.room {
			continue
		}
		if best == "" || len(accs) < bestLoad {
			best, bestLoad = c.id, len(accs)
		}
	}
	return best
}

// assignable reports whether an account in status s should run somewhere.
func assignable(s string) bool {
	return s == protocol.AccountStatusActive || s == protocol.AccountStatusRateLimited
}

// sendAssign sends master:task:assign and tracks its ack.
func (h *Hub) sendAssign(ctx context.Context, workerID, accountID string) {
	a, err := h.st.GetAccount(ctx, accountID)
	if err != nil {
		return
	}
	h.mu.Lock()
	w := h.workers[workerID]
	if w == nil || !w.connected() {
		h.mu.Unlock()
		return
	}
	key := w.sealKey
	pa := w.pending[accountID]
	if pa == nil {
		pa = &pendingAssign{}
		w.pending[accountID] = pa
	}
	pa.attempts++
	pa.sentAt = h.cfg.Now()
	h.mu.Unlock()
	sealed, err := h.sealCredentials(ctx, accountID, key)
	if err != nil {
		h.log.ErrorContext(ctx, "preparing assignment", "account_id", accountID, "err", err)
		return
	}
	h.emitTo(protocol.NewMessage(protocol.TypeTaskAssign, protocol.TaskAssign{
		AccountID: a.ID, Platform: a.Platform, AccountCredentials: sealed, MonitorInterval: a.MonitorInterval,
		PlatformAccountID: a.PlatformAccountID, AccountName: a.Name,
	}, h.cfg.Now(), ""), workerRoom(workerID))
}

// sendRevoke sends master:task:revoke.
func (h *Hub) sendRevoke(workerID, accountID string) {
	h.mu.Lock()
	if w := h.workers[workerID]; w != nil {
		delete(w.pending, accountID)
	}
	h.mu.Unlock()
	h.emitTo(protocol.NewMessage(protocol.TypeTaskRevoke, protocol.TaskRevoke{AccountID: accountID}, h.cfg.Now(), ""), workerRoom(workerID))
}

// handleAssignAck settles a pending assignment.
func (h *Hub) handleAssignAck(ctx context.Context, r *request, cur identity, p *protocol.TaskAssignAck) {
	h.mu.Lock()
	w := h.workers[cur.workerID]
	known := false
	if w != nil {
		_, known = w.pending[p.AccountID]
		delete(w.pending, p.AccountID)
	}
	h.mu.Unlock()
	if !known {
		return // a late or repeated ack: nothing to settle
	}
	if !p.Success {
		h.log.WarnContext(ctx, "worker refused assignment", "worker_id", cur.workerID, "account_id", p.AccountID, "reason", p.ErrorMessage)
		h.placeAccount(ctx, p.AccountID, cur.workerID)
	}
}
