package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

// Account states shown on the status page.
const (
	stateRunning       = "running"
	stateLoginRequired = "login_required"
	stateRateLimited   = "rate_limited"
	stateNetworkError  = "network_error"
)

// spec is what the master says about one account.
type spec struct {
	id                string
	platform          string
	platformAccountID string
	name              string
	sealed            string
	interval          time.Duration
}

// specOfAssigned converts an entry of worker:register:ack.
func specOfAssigned(a protocol.AssignedAccount) spec {
	return spec{id: a.ID, platform: a.Platform, platformAccountID: a.AccountID, name: a.AccountName,
		sealed: a.Credentials, interval: intervalOf(a.MonitorInterval)}
}

// specOfAssign converts master:task:assign.
func specOfAssign(p *protocol.TaskAssign) spec {
	return spec{id: p.AccountID, platform: p.Platform, platformAccountID: p.PlatformAccountID, name: p.AccountName,
		sealed: p.AccountCredentials, interval: intervalOf(p.MonitorInterval)}
}

// intervalOf turns the wire's seconds into a duration.
func intervalOf(seconds int) time.Duration {
	if seconds <= 0 {
		return DefaultMonitorInterval
	}
	return time.Duration(seconds) * time.Second
}

// account is one running monitor.
type account struct {
	spec  spec
	creds []byte
	mon   crawler.Monitor
	// state and the poll fields feed the status page.
	state     string
	lastError string
	lastPoll  crawler.PollResult
}

// sameRun reports whether s can keep running as the monitor started for
// old: only the credentials may differ.
func (s spec) sameRun(old spec) bool {
	return s.platform == old.platform && s.platformAccountID == old.platformAccountID && s.interval == old.interval
}

// applyAssigned makes the running monitors exactly the accounts of a
// register ack: it stops the ones not listed (after a failover the master
// may have moved them away) and starts or updates the listed ones.
func (a *Agent) applyAssigned(ctx context.Context, assigned []protocol.AssignedAccount) {
	a.opMu.Lock()
	defer a.opMu.Unlock()
	want := map[string]protocol.AssignedAccount{}
	for _, acc := range assigned {
		want[acc.ID] = acc
	}
	a.mu.Lock()
	var stale []string
	for id := range a.accounts {
		if _, ok := want[id]; !ok {
			stale = append(stale, id)
		}
	}
	a.mu.Unlock()
	for _, id := range stale {
		a.log.InfoContext(ctx, "stopping account the master no longer assigns", "account_id", id)
		a.stopLocked(ctx, id)
	}
	for _, acc := range assigned {
		s := specOfAssigned(acc)
		if err := a.ensureLocked(ctx, s); err != nil {
			a.log.ErrorContext(ctx, "starting assigned account", "account_id", s.id, "err", err)
			a.reportStartFailure(ctx, s, err)
		}
	}
	a.log.InfoContext(ctx, "assignment applied", "accounts", len(assigned), "stopped", len(stale))
}

// assign handles master:task:assign and answers it.
func (a *Agent) assign(ctx context.Context, p *protocol.TaskAssign, requestID string) {
	a.opMu.Lock()
	err := a.ensureLocked(ctx, specOfAssign(p))
	a.opMu.Unlock()
	ack := protocol.TaskAssignAck{Success: err == nil, AccountID: p.AccountID}
	if err != nil {
		ack.ErrorMessage = err.Error()
		a.log.WarnContext(ctx, "refusing assignment", "account_id", p.AccountID, "err", err)
	} else {
		a.log.InfoContext(ctx, "account assigned", "account_id", p.AccountID, "platform", p.Platform)
	}
	if serr := a.send(ctx, protocol.NewMessage(protocol.TypeTaskAssignAck, ack, a.now(), requestID)); serr != nil {
		// The master resends an unacknowledged assignment.
		a.log.WarnContext(ctx, "answering assignment", "account_id", p.AccountID, "err", serr)
	}
}

// revoke handles master:task:revoke.
func (a *Agent) revoke(ctx context.Context, accountID string) {
	a.opMu.Lock()
	defer a.opMu.Unlock()
	if a.stopLocked(ctx, accountID) {
		a.log.InfoContext(ctx, "account revoked", "account_id", accountID)
	}
}

// errAtCapacity is returned when an assignment would exceed max_accounts.
var errAtCapacity = errors.New("this appliance runs as many accounts as it accepts")

// ensureLocked brings one account in line with s: start it, hand a running
// monitor new credentials, or restart it when anything else changed.
// a.opMu is held.
func (a *Agent) ensureLocked(ctx context.Context, s spec) error {
	creds, err := a.openCredentials(s)
	if err != nil {
		return err
	}
	a.mu.Lock()
	cur := a.accounts[s.id]
	_, localCreds := a.pendingCreds[s.id]
	maxAcc := a.app.MaxAccounts
	running := len(a.accounts)
	a.mu.Unlock()

	if cur != nil && s.sameRun(cur.spec) {
		a.mu.Lock()
		cur.spec = s
		changed := !bytes.Equal(cur.creds, creds) && !localCreds
		if changed {
			cur.creds = creds
		}
		a.mu.Unlock()
		if changed {
			// The monitor has a fresher jar of its own while a rolled one
			// waits to reach the master; otherwise the master's wins.
			cur.mon.UpdateCredentials(creds)
			a.log.InfoContext(ctx, "account credentials updated", "account_id", s.id)
		}
		return nil
	}
	if cur != nil {
		a.log.InfoContext(ctx, "restarting account with new settings", "account_id", s.id)
		a.stopLocked(ctx, s.id)
		running--
	}
	f := a.factories[s.platform]
	if f == nil {
		return fmt.Errorf("platform %q is not supported by this appliance", s.platform)
	}
	if running >= maxAcc {
		return errAtCapacity
	}
	acc := crawler.Account{
		ID: s.id, Platform: s.platform, PlatformAccountID: s.platformAccountID, Name: s.name,
		Credentials: creds, Interval: s.interval, AssignedAt: a.now(),
	}
	mon, err := f.Start(a.runCtx, acc, a.sink)
	if err != nil {
		return fmt.Errorf("starting monitor: %w", err)
	}
	a.mu.Lock()
	a.accounts[s.id] = &account{spec: s, creds: creds, mon: mon, state: stateRunning}
	a.mu.Unlock()
	return nil
}

// openCredentials opens the sealed credentials of s with the key derived
// from the enrollment token. An account without credentials gets none: its
// monitor reports that a login is needed.
func (a *Agent) openCredentials(s spec) ([]byte, error) {
	if s.sealed == "" {
		return nil, nil
	}
	a.mu.Lock()
	key := a.sealKey
	a.mu.Unlock()
	creds, err := credseal.Open(key, s.sealed, s.id)
	if err != nil {
		// Don't show the sealed value; the error names the cause.
		return nil, fmt.Errorf("opening credentials: %w", err)
	}
	return creds, nil
}

// stopLocked stops and forgets one account; it reports whether it ran.
// a.opMu is held.
func (a *Agent) stopLocked(ctx context.Context, id string) bool {
	a.mu.Lock()
	acc := a.accounts[id]
	delete(a.accounts, id)
	delete(a.pendingCreds, id)
	grace := a.app.ShutdownGrace
	a.mu.Unlock()
	if acc == nil {
		return false
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := acc.mon.Stop(sctx); err != nil {
		a.log.WarnContext(ctx, "stopping monitor", "account_id", id, "err", err)
	}
	return true
}

// stopAllMonitors stops every monitor.
func (a *Agent) stopAllMonitors(ctx context.Context) {
	a.opMu.Lock()
	defer a.opMu.Unlock()
	a.mu.Lock()
	ids := make([]string, 0, len(a.accounts))
	for id := range a.accounts {
		ids = append(ids, id)
	}
	a.mu.Unlock()
	for _, id := range ids {
		a.stopLocked(ctx, id)
	}
}

// reportStartFailure tells the master an account of a register ack could
// not be started, since that ack has no per-account answer.
func (a *Agent) reportStartFailure(ctx context.Context, s spec, err error) {
	typ, msg := protocol.ErrorTypeNetworkError, err.Error()
	switch {
	case s.sealed == "":
		// Nothing to watch with: the account needs a login first.
		typ, msg = protocol.ErrorTypeAuthFailed, "the account has no credentials yet; log it in"
	case errors.Is(err, credseal.ErrOpen), errors.Is(err, credseal.ErrMalformed):
		typ = protocol.ErrorTypeAuthFailed
	}
	a.sendError(ctx, s.id, s.platform, typ, msg, 0)
}

// sendError sends worker:error; errors are status, not data, so one that
// cannot be sent is logged rather than kept.
func (a *Agent) sendError(ctx context.Context, accountID, platform, errorType, message string, retries int) {
	msg := protocol.NewMessage(protocol.TypeWorkerError, protocol.WorkerError{
		WorkerID: a.workerID(), ErrorType: errorType, AccountID: accountID, ErrorMessage: message,
		Details: protocol.ErrorDetails{Platform: platform, RetryCount: retries},
	}, a.now(), "")
	if err := a.send(ctx, msg); err != nil {
		a.log.WarnContext(ctx, "reporting account error", "account_id", accountID, "error_type", errorType, "err", err)
	}
}

// runningCount returns the number of running monitors.
func (a *Agent) runningCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.accounts)
}
