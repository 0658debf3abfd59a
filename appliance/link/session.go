package link

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tidewatch/tidewatch/internal/sioconn"
	"github.com/tidewatch/tidewatch/protocol"
)

// session is one Socket.IO connection to the master.
type session struct {
	log  *slog.Logger
	conn *sioconn.Conn
}

// dialConfig is what dial needs.
type dialConfig struct {
	masterURL string
	token     string
	timeout   time.Duration
	log       *slog.Logger
}

// dial opens a websocket connection to the master and connects the default
// namespace with the token in the handshake. Each call builds its own
// manager; a stalled step tears everything down.
func dial(ctx context.Context, dc *dialConfig) (*session, error) {
	conn, err := sioconn.Dial(ctx, &sioconn.Config{
		URL:         dc.masterURL,
		Auth:        map[string]any{"token": dc.token},
		Timeout:     dc.timeout,
		Logger:      dc.log,
		InboxSize:   inboxSize,
		CloseReason: "closed by the appliance",
	})
	if err != nil {
		return nil, err
	}
	return &session{log: dc.log, conn: conn}, nil
}

// register sends worker:register and waits for its answer. Messages that
// arrive before the answer are returned in order, to be handled after it.
// A refusal the appliance cannot fix by retrying soon (token, version) is
// returned as rej.
func (s *session) register(ctx context.Context, p *protocol.WorkerRegister, now func() time.Time, timeout time.Duration,
) (ack *protocol.WorkerRegisterAck, buffered [][]byte, rej *protocol.Error, err error) {
	// A random request id, so a late answer to an earlier attempt is never
	// taken for this one.
	reqID := "register-" + rand.Text()[:16]
	if err = s.send(protocol.NewMessage(protocol.TypeWorkerRegister, p, now(), reqID)); err != nil {
		return nil, nil, nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, nil, nil, ctx.Err()
		case <-s.conn.Done():
			return nil, nil, nil, fmt.Errorf("registering: connection closed: %s", s.conn.CloseReason())
		case <-t.C:
			return nil, nil, nil, fmt.Errorf("registering: no answer within %s", timeout)
		case raw := <-s.conn.Inbox():
			env, payload, perr := protocol.Decode(raw)
			switch {
			case perr != nil:
				s.log.WarnContext(ctx, "ignoring message from master", "type", env.Type, "err", perr.Error())
			case env.Type == protocol.TypeWorkerRegisterAck && env.RequestID == reqID:
				a, _ := payload.(*protocol.WorkerRegisterAck)
				if a == nil || !a.Success {
					return nil, nil, nil, errors.New("registering: master answered without success")
				}
				return a, buffered, nil, nil
			case env.Type == protocol.ErrorType(protocol.TypeWorkerRegister) && env.RequestID == reqID:
				ep, _ := payload.(*protocol.ErrorPayload)
				if ep == nil {
					return nil, nil, nil, errors.New("registering: malformed error answer")
				}
				e := &protocol.Error{Code: ep.ErrorCode, Message: ep.ErrorMessage, Details: ep.Details}
				if ep.ErrorCode == protocol.ErrAuthFailed || ep.ErrorCode == protocol.ErrUnsupportedVersion {
					return nil, nil, e, nil
				}
				return nil, nil, nil, fmt.Errorf("registering: %w", e)
			default:
				buffered = append(buffered, raw)
			}
		}
	}
}

// send emits one envelope; it fails with ErrNotConnected once the
// connection has ended.
func (s *session) send(msg protocol.Message) error {
	if err := s.conn.Send(msg); err != nil {
		if errors.Is(err, sioconn.ErrNotConnected) {
			return ErrNotConnected
		}
		return err
	}
	return nil
}

// close disconnects the socket and closes the engine.
func (s *session) close() { s.conn.Close() }
