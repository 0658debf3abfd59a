package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tidewatch/tidewatch/protocol"
)

// ProbeOutcome classifies the answer of [Probe].
type ProbeOutcome string

// Probe outcomes.
const (
	// ProbeOK means the master accepted the registration.
	ProbeOK ProbeOutcome = "ok"
	// ProbeUnreachable means no Socket.IO connection could be made.
	ProbeUnreachable ProbeOutcome = "unreachable"
	// ProbeRejected means the master refused the token.
	ProbeRejected ProbeOutcome = "rejected"
	// ProbeVersionMismatch means the master does not speak our version.
	ProbeVersionMismatch ProbeOutcome = "version_mismatch"
)

// ProbeResult is the answer of [Probe].
type ProbeResult struct {
	// Outcome classifies the answer.
	Outcome ProbeOutcome
	// Message is the master's reason or the connection error.
	Message string
	// Assigned is the number of accounts the master has for this worker.
	Assigned int
}

// ProbeConfig is what [Probe] needs.
type ProbeConfig struct {
	// MasterURL and Token are the settings under test.
	MasterURL, Token string
	// Register is the registration sent; it must carry the appliance's own
	// worker id (see Probe).
	Register protocol.WorkerRegister
	// Timeout bounds each step; zero means DefaultConnectTimeout.
	Timeout time.Duration
	// Logger may be nil.
	Logger *slog.Logger
}

// Probe makes one short-lived connection, registers, and disconnects: the
// only way to learn whether the master accepts a token is to register with
// it. It registers the appliance's own worker id, never a made-up one, so the
// master's fleet gains no phantom worker; accounts the master hands over in
// the answer stay with this worker and reach it when its link registers (or
// move on after the master's disconnect grace).
func Probe(ctx context.Context, pc *ProbeConfig) (ProbeResult, error) {
	timeout := pc.Timeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	log := pc.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := pc.Register.Validate(); err != nil {
		return ProbeResult{}, fmt.Errorf("register payload: %w", err)
	}
	s, err := dial(ctx, &dialConfig{masterURL: pc.MasterURL, token: pc.Token, timeout: timeout, log: log})
	if err != nil {
		if ctx.Err() != nil {
			return ProbeResult{}, ctx.Err()
		}
		return ProbeResult{Outcome: ProbeUnreachable, Message: err.Error()}, nil
	}
	defer s.close()
	ack, _, rej, err := s.register(ctx, &pc.Register, time.Now, timeout)
	switch {
	case rej != nil && rej.Code == protocol.ErrUnsupportedVersion:
		return ProbeResult{Outcome: ProbeVersionMismatch, Message: rej.Message}, nil
	case rej != nil:
		return ProbeResult{Outcome: ProbeRejected, Message: rej.Message}, nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ProbeResult{}, err
	case err != nil:
		return ProbeResult{Outcome: ProbeUnreachable, Message: err.Error()}, nil
	}
	return ProbeResult{Outcome: ProbeOK, Assigned: len(ack.AssignedAccounts)}, nil
}
