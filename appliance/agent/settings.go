package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidewatch/tidewatch/appliance/config"
	"github.com/tidewatch/tidewatch/appliance/link"
	"github.com/tidewatch/tidewatch/appliance/setupweb"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

// type checks
var (
	_ setupweb.Applier          = (*Agent)(nil)
	_ setupweb.ConnectionTester = (*Agent)(nil)
)

// linkStopTimeout bounds disconnecting the old link when settings change.
const linkStopTimeout = 5 * time.Second

// Apply implements setupweb.Applier: the agent reconnects with cfg's master,
// token, worker name and capacity, without a restart. Accounts keep running
// until the (possibly new) master's register ack says otherwise. It returns
// once the new link is started, not once it is connected; the status page
// shows how connecting goes.
func (a *Agent) Apply(ctx context.Context, cfg *config.Config) error {
	if cfg == nil {
		return errors.New("agent: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if a.runCtx == nil {
		return errors.New("agent: not started")
	}
	a.linkMu.Lock()
	defer a.linkMu.Unlock()
	a.mu.Lock()
	if a.draining {
		a.mu.Unlock()
		return errors.New("agent: shutting down at the master's request")
	}
	old := a.lnk
	a.lnk = nil
	next := cfg.Clone()
	// The data directory and worker id stay what the agent runs with.
	next.DataDir, next.WorkerID = a.app.DataDir, a.app.WorkerID
	a.app = next
	a.sealKey = credseal.DeriveKey(next.Token)
	a.mu.Unlock()

	if old != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), linkStopTimeout)
		err := old.Shutdown(sctx)
		cancel()
		if err != nil {
			a.log.WarnContext(ctx, "disconnecting for new settings", "err", err)
		}
	}
	if next.MasterURL == "" || next.Token == "" {
		a.log.InfoContext(ctx, "settings applied; not connecting without master and token")
		return nil
	}
	if err := a.startLinkLocked(ctx, next); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.log.InfoContext(ctx, "settings applied; reconnecting", "master", next.MasterURL,
		"worker_name", next.WorkerName, "max_accounts", next.MaxAccounts)
	return nil
}

// Test implements setupweb.ConnectionTester.
//
// When the live link is registered with this very master and token, the
// answer is the live connection's: a second registration would only replace
// it. Otherwise the test makes a real, short-lived connection and sends
// worker:register with this appliance's own worker id (see [link.Probe]):
// the only way to learn whether a master accepts a token is to register, and
// a made-up id would leave a phantom worker in the master's fleet.
func (a *Agent) Test(ctx context.Context, masterURL, token string) (setupweb.TestResult, error) {
	a.mu.Lock()
	app := a.app.Clone()
	lnk := a.lnk
	a.mu.Unlock()
	if lnk != nil && app.MasterURL == masterURL && app.Token == token && lnk.Status().State == link.StateConnected {
		return setupweb.TestResult{Outcome: setupweb.TestOK, Message: "This appliance is connected to the master right now."}, nil
	}
	if len(a.factories) == 0 {
		return setupweb.TestResult{}, errors.New("no monitor platform is available on this appliance")
	}
	probe := app.Clone()
	probe.MasterURL, probe.Token = masterURL, token
	res, err := link.Probe(ctx, &link.ProbeConfig{
		MasterURL: masterURL, Token: token, Register: a.registerPayload(ctx, probe),
		Timeout: app.ConnectTimeout, Logger: a.conf.Logger,
	})
	if err != nil {
		return setupweb.TestResult{}, err
	}
	switch res.Outcome {
	case link.ProbeOK:
		return setupweb.TestResult{Outcome: setupweb.TestOK,
			Message: fmt.Sprintf("The master has %d account(s) for this appliance.", res.Assigned)}, nil
	case link.ProbeRejected:
		return setupweb.TestResult{Outcome: setupweb.TestBadToken, Message: res.Message}, nil
	case link.ProbeVersionMismatch:
		return setupweb.TestResult{Outcome: setupweb.TestVersionMismatch, Message: res.Message}, nil
	default:
		return setupweb.TestResult{Outcome: setupweb.TestUnreachable, Message: res.Message}, nil
	}
}
