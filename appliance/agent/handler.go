package agent

import (
	"context"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/appliance/link"
	"github.com/tidewatch/tidewatch/protocol"
)

// handler is the agent's [link.Handler]; it is a separate type so the
// agent's own API stays small.
type handler struct {
	a *Agent
}

// type check
var _ link.Handler = (*handler)(nil)

// Registered implements link.Handler: apply the assignment exactly, then
// resend what the master has not acknowledged.
func (h *handler) Registered(ctx context.Context, ack *protocol.WorkerRegisterAck) {
	a := h.a
	a.applyAssigned(ctx, ack.AssignedAccounts)
	a.mu.Lock()
	a.gen++
	a.mu.Unlock()
	a.sendPendingCredentials(ctx)
	a.poke()
}

// Received implements link.Handler.
func (h *handler) Received(ctx context.Context, env protocol.Envelope, payload protocol.Validator) {
	a := h.a
	switch p := payload.(type) {
	case *protocol.TaskAssign:
		a.assign(ctx, p, env.RequestID)
	case *protocol.TaskRevoke:
		a.revoke(ctx, p.AccountID)
	case *protocol.Shutdown:
		// Drain on another goroutine: acks must keep arriving meanwhile.
		a.wg.Add(1)
		go a.drain(p)
	case *protocol.MessageAck:
		a.acked(ctx, p)
	case *protocol.LoginStart:
		a.startLogin(ctx, p)
	case *protocol.LoginCancel:
		a.cancelLogin(ctx, p)
	case *protocol.ErrorPayload:
		a.refused(ctx, env, p)
	default:
		if !strings.HasSuffix(env.Type, ":ack") {
			a.log.DebugContext(ctx, "ignoring message", "type", env.Type)
		}
	}
}

// Heartbeat implements link.Handler.
func (h *handler) Heartbeat(ctx context.Context) (protocol.WorkerHeartbeat, error) {
	return h.a.heartbeat(ctx)
}

// refused handles a "{type}:error" answer from the master.
func (a *Agent) refused(ctx context.Context, env protocol.Envelope, p *protocol.ErrorPayload) {
	orig := strings.TrimSuffix(env.Type, ":error")
	if orig == protocol.TypeMessageDetected {
		a.detectedRefused(ctx, env.RequestID, p)
		return
	}
	a.log.WarnContext(ctx, "master refused a message", "type", orig, "code", string(p.ErrorCode), "reason", p.ErrorMessage)
}

// drain carries out master:shutdown: stop the monitors, give the outbox up
// to graceful_timeout to empty, disconnect, and close Done. It is run as a
// goroutine.
func (a *Agent) drain(p *protocol.Shutdown) {
	defer a.wg.Done()
	defer a.recoverLog("drain")
	defer a.finish()
	ctx := a.runCtx
	grace := time.Duration(p.GracefulTimeout) * time.Second
	deadline := a.now().Add(grace)
	a.mu.Lock()
	if a.draining {
		a.mu.Unlock()
		return
	}
	a.draining = true
	a.mu.Unlock()
	a.log.WarnContext(ctx, "master requested shutdown", "reason", p.Reason, "graceful_timeout", grace)

	sctx, cancel := context.WithTimeout(ctx, max(grace, time.Second))
	defer cancel()
	a.stopAllMonitors(sctx)
	depth := a.waitOutboxEmpty(sctx, deadline)
	if depth > 0 {
		a.log.WarnContext(ctx, "shutting down with unacknowledged items; they are sent after the next start", "outbox_depth", depth)
	} else {
		a.log.InfoContext(ctx, "outbox flushed")
	}

	a.linkMu.Lock()
	a.mu.Lock()
	lnk := a.lnk
	a.lnk = nil
	a.linkErr = "shut down by the master: " + p.Reason
	a.mu.Unlock()
	if lnk != nil {
		lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := lnk.Shutdown(lctx); err != nil {
			a.log.WarnContext(ctx, "disconnecting", "err", err)
		}
		lcancel()
	}
	a.linkMu.Unlock()
}

// waitOutboxEmpty polls the outbox depth until it is zero or deadline
// passes, and returns the last depth.
func (a *Agent) waitOutboxEmpty(ctx context.Context, deadline time.Time) int {
	const poll = 100 * time.Millisecond
	for {
		a.poke()
		depth, err := a.box.Depth(ctx)
		if err != nil {
			a.log.WarnContext(ctx, "reading outbox depth", "err", err)
		}
		if err == nil && depth == 0 {
			return 0
		}
		left := deadline.Sub(a.now())
		if left <= 0 {
			return depth
		}
		t := time.NewTimer(min(poll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return depth
		case <-t.C:
		}
	}
}
