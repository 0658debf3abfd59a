package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

// storeTimeout bounds writing detected items to the outbox. The write is
// detached from the monitor's context: a monitor being stopped must still
// get its last items stored.
const storeTimeout = 10 * time.Second

// sink is the agent's [crawler.Sink].
type sink struct {
	a *Agent
}

// type check
var _ crawler.Sink = (*sink)(nil)

// Detected implements crawler.Sink: every item is on disk before this
// returns, and only then sent.
func (s *sink) Detected(ctx context.Context, accountID string, items []crawler.Detection) error {
	a := s.a
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	workerID := a.workerID()
	var errs []error
	stored := 0
	for _, it := range items {
		p := protocol.MessageDetected{WorkerID: workerID, AccountID: accountID, MessageType: it.MessageType, Data: it.Data}
		if err := p.Validate(); err != nil {
			// The master would refuse it forever; say so and go on.
			a.log.ErrorContext(ctx, "monitor produced an invalid item; not sent", "account_id", accountID, "err", err)
			a.mu.Lock()
			a.dropped++
			a.mu.Unlock()
			continue
		}
		raw, err := json.Marshal(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("encoding item %s: %w", it.Data.ID, err))
			continue
		}
		if _, err = a.box.Add(sctx, it.Data.ID, outboxKind, raw); err != nil {
			errs = append(errs, err)
			continue
		}
		stored++
	}
	if stored > 0 {
		a.log.InfoContext(ctx, "detected", "account_id", accountID, "items", stored)
		a.poke()
	}
	if len(errs) > 0 {
		return fmt.Errorf("storing detected items: %w", errors.Join(errs...))
	}
	return nil
}

// Failed implements crawler.Sink.
func (s *sink) Failed(ctx context.Context, accountID, errorType, message string, retryCount int) {
	a := s.a
	a.mu.Lock()
	acc := a.accounts[accountID]
	platform := ""
	if acc != nil {
		platform = acc.spec.platform
		acc.lastError = message
		switch errorType {
		case protocol.ErrorTypeAuthFailed:
			acc.state = stateLoginRequired
		case protocol.ErrorTypeRateLimited:
			acc.state = stateRateLimited
		default:
			acc.state = stateNetworkError
		}
	}
	a.mu.Unlock()
	if acc == nil {
		// A monitor being stopped: its account is no longer ours to report.
		return
	}
	a.log.WarnContext(ctx, "monitor failed", "account_id", accountID, "error_type", errorType, "retry_count", retryCount, "err", message)
	a.sendError(ctx, accountID, platform, errorType, message, retryCount)
}

// CredentialsChanged implements crawler.Sink: the rolled jar is sealed for
// the master and sent; while the link is down the latest one waits in
// memory (never on disk) and goes out after the next registration.
func (s *sink) CredentialsChanged(ctx context.Context, accountID string, credentials []byte, expiresAt time.Time) {
	a := s.a
	a.mu.Lock()
	acc := a.accounts[accountID]
	if acc != nil {
		acc.creds = credentials
		a.pendingCreds[accountID] = rolled{creds: credentials, expiresAt: expiresAt}
	}
	a.mu.Unlock()
	if acc == nil {
		return
	}
	a.sendCredentials(ctx, accountID, credentials, expiresAt)
}

// Polled implements crawler.Sink.
func (s *sink) Polled(accountID string, r crawler.PollResult) {
	a := s.a
	a.mu.Lock()
	defer a.mu.Unlock()
	acc := a.accounts[accountID]
	if acc == nil {
		return
	}
	acc.lastPoll = r
	if r.Err == nil {
		acc.state, acc.lastError = stateRunning, ""
	} else {
		acc.lastError = r.Err.Error()
	}
}

// rolled is a credential jar a monitor rolled that has not reached the
// master yet.
type rolled struct {
	creds     []byte
	expiresAt time.Time
}

// sendCredentials seals and sends one account's credentials; on success
// the pending copy is forgotten.
func (a *Agent) sendCredentials(ctx context.Context, accountID string, creds []byte, expiresAt time.Time) {
	a.mu.Lock()
	key := a.sealKey
	a.mu.Unlock()
	sealed, err := credseal.Seal(key, creds, accountID)
	if err != nil {
		a.log.ErrorContext(ctx, "sealing credentials", "account_id", accountID, "err", err)
		return
	}
	p := protocol.CredentialsUpdate{WorkerID: a.workerID(), AccountID: accountID, Credentials: sealed}
	if !expiresAt.IsZero() {
		p.ExpiresAt = protocol.TimestampOf(expiresAt)
	}
	if err = a.send(ctx, protocol.NewMessage(protocol.TypeCredentialsUpdate, p, a.now(), "")); err != nil {
		a.log.WarnContext(ctx, "credentials update waits for the connection", "account_id", accountID, "err", err)
		return
	}
	a.mu.Lock()
	if cur, ok := a.pendingCreds[accountID]; ok && string(cur.creds) == string(creds) {
		delete(a.pendingCreds, accountID)
	}
	a.mu.Unlock()
	a.log.InfoContext(ctx, "credentials update sent", "account_id", accountID)
}

// sendPendingCredentials sends the rolled credentials that waited for the
// connection.
func (a *Agent) sendPendingCredentials(ctx context.Context) {
	a.mu.Lock()
	pending := maps.Clone(a.pendingCreds)
	a.mu.Unlock()
	for id, r := range pending {
		a.sendCredentials(ctx, id, r.creds, r.expiresAt)
	}
}
