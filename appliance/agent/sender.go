package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidewatch/tidewatch/appliance/link"
	"github.com/tidewatch/tidewatch/appliance/outbox"
	"github.com/tidewatch/tidewatch/protocol"
)

// outboxKind marks outbox entries holding a worker:message:detected payload.
const outboxKind = protocol.TypeMessageDetected

// sendLoop sends the outbox, oldest first: at once when something was
// added or acknowledged, everything again after each registration, and
// anything still unacknowledged every OutboxResendInterval. It is run as a
// goroutine until ctx ends.
func (a *Agent) sendLoop(ctx context.Context) {
	defer a.wg.Done()
	defer a.recoverLog("sender")
	a.mu.Lock()
	resend := a.app.OutboxResendInterval
	a.mu.Unlock()
	tick := time.NewTicker(max(resend/4, 50*time.Millisecond))
	defer tick.Stop()
	// sent maps the keys sent on the current registration to when.
	sent := map[string]time.Time{}
	var gen uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		case <-tick.C:
		}
		a.mu.Lock()
		cur, resend := a.gen, a.app.OutboxResendInterval
		a.mu.Unlock()
		if cur != gen {
			clear(sent)
			gen = cur
		}
		if err := a.flush(ctx, sent, resend); err != nil && ctx.Err() == nil && !errors.Is(err, link.ErrNotConnected) {
			a.log.WarnContext(ctx, "sending outbox", "err", err)
		}
	}
}

// flush sends the oldest window of entries that are due: never sent on this
// registration, or sent longer than resend ago.
func (a *Agent) flush(ctx context.Context, sent map[string]time.Time, resend time.Duration) error {
	lnk := a.currentLink()
	if lnk == nil || lnk.Status().State != link.StateConnected {
		return link.ErrNotConnected
	}
	entries, err := a.box.Pending(ctx, a.conf.OutboxWindow)
	if err != nil {
		return err
	}
	inWindow := make(map[string]bool, len(entries))
	now := a.now()
	workerID := a.workerID()
	for _, e := range entries {
		inWindow[e.Key] = true
		if at, ok := sent[e.Key]; ok && now.Sub(at) < resend {
			continue
		}
		msg, err := detectedMessage(e, workerID, now)
		if err != nil {
			// A payload this code wrote and cannot read back: keeping it
			// would block the outbox forever.
			a.drop(ctx, e.Key, err.Error())
			continue
		}
		if err = lnk.Send(ctx, msg); err != nil {
			return err
		}
		sent[e.Key] = now
		if err = a.box.MarkAttempt(ctx, e.Key); err != nil {
			a.log.WarnContext(ctx, "recording send attempt", "key", e.Key, "err", err)
		}
	}
	for k := range sent {
		if !inWindow[k] {
			delete(sent, k)
		}
	}
	return nil
}

// detectedMessage rebuilds the envelope of an outbox entry. The worker id
// is the current one, so items kept across a change of id still arrive;
// the request id is the key, so an error answer names its entry.
func detectedMessage(e outbox.Entry, workerID string, now time.Time) (protocol.Message, error) {
	if e.Kind != outboxKind {
		return protocol.Message{}, fmt.Errorf("unknown outbox kind %q", e.Kind)
	}
	var p protocol.MessageDetected
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return protocol.Message{}, fmt.Errorf("decoding outbox entry: %w", err)
	}
	p.WorkerID = workerID
	return protocol.NewMessage(protocol.TypeMessageDetected, p, now, e.Key), nil
}

// acked deletes an acknowledged item and moves the window on.
func (a *Agent) acked(ctx context.Context, p *protocol.MessageAck) {
	if !p.Success {
		// Not stored: it stays and is sent again.
		a.log.WarnContext(ctx, "master did not store a message; it will be resent", "key", p.MessageID)
		return
	}
	if _, err := a.box.Ack(ctx, p.MessageID); err != nil {
		a.log.ErrorContext(ctx, "deleting acknowledged item", "key", p.MessageID, "err", err)
		return
	}
	a.poke()
}

// detectedRefused handles worker:message:detected:error. An item the
// master can never take (its account was deleted, or it is malformed) is
// removed with an error in the log and counted on the status page; anything
// else stays and is sent again.
func (a *Agent) detectedRefused(ctx context.Context, key string, p *protocol.ErrorPayload) {
	switch p.ErrorCode {
	case protocol.ErrAccountNotFound, protocol.ErrInvalidPayload:
		if key == "" {
			a.log.ErrorContext(ctx, "master refused a message without naming it", "code", string(p.ErrorCode), "reason", p.ErrorMessage)
			return
		}
		a.drop(ctx, key, string(p.ErrorCode)+": "+p.ErrorMessage)
	default:
		a.log.WarnContext(ctx, "master could not take a message; it will be resent", "key", key,
			"code", string(p.ErrorCode), "reason", p.ErrorMessage)
	}
}

// drop removes an item that can never be delivered, loudly.
func (a *Agent) drop(ctx context.Context, key, why string) {
	removed, err := a.box.Ack(ctx, key)
	if err != nil {
		a.log.ErrorContext(ctx, "removing undeliverable item", "key", key, "err", err)
		return
	}
	if !removed {
		return
	}
	a.mu.Lock()
	a.dropped++
	a.mu.Unlock()
	a.log.ErrorContext(ctx, "dropped undeliverable item", "key", key, "why", why)
	a.poke()
}
