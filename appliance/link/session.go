package link

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/protocol"
	"github.com/zishang520/socket.io/clients/engine/v3/transports"
	sio "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// session is one Socket.IO connection to the master.
type session struct {
	log  *slog.Logger
	mgr  *sio.Manager
	sock *sio.Socket
	// inbox carries the JSON of each received message, in arrival order.
	inbox chan []byte
	// closed is closed when the connection ends.
	closed    chan struct{}
	closeOnce sync.Once
	// mu guards reason.
	mu     sync.Mutex
	reason string
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
	uri, path, err := socketURL(dc.masterURL)
	if err != nil {
		return nil, err
	}
	opts := sio.DefaultOptions()
	opts.SetTransports(types.NewSet(transports.WebSocket))
	opts.SetMultiplex(false)
	opts.SetForceNew(true)
	opts.SetReconnection(false)
	opts.SetAutoConnect(false)
	opts.SetTimeout(dc.timeout)
	opts.SetPath(path)
	opts.SetAuth(map[string]any{"token": dc.token})

	mgr := sio.NewManager(uri, opts)
	opened := make(chan error, 1)
	mgr.Open(func(err error) {
		select {
		case opened <- err:
		default:
		}
	})
	t := time.NewTimer(dc.timeout)
	defer t.Stop()
	select {
	case err = <-opened:
		if err != nil {
			closeEngine(mgr)
			return nil, fmt.Errorf("opening connection: %w", err)
		}
	case <-t.C:
		closeEngine(mgr)
		return nil, fmt.Errorf("opening connection: no answer within %s", dc.timeout)
	case <-ctx.Done():
		closeEngine(mgr)
		return nil, ctx.Err()
	}

	s := &session{
		log:    dc.log,
		mgr:    mgr,
		sock:   mgr.Socket("/", opts),
		inbox:  make(chan []byte, inboxSize),
		closed: make(chan struct{}),
	}
	connected := make(chan struct{})
	failed := make(chan error, 1)
	var connectOnce sync.Once
	_ = s.sock.On("connect", func(...any) { connectOnce.Do(func() { close(connected) }) })
	_ = s.sock.On("connect_error", func(args ...any) {
		err := errors.New("connect error")
		if len(args) > 0 {
			if e, ok := args[0].(error); ok {
				err = e
			}
		}
		select {
		case failed <- err:
		default:
		}
	})
	_ = s.sock.On("disconnect", func(args ...any) {
		reason := "disconnected"
		if len(args) > 0 {
			if r, ok := args[0].(string); ok && r != "" {
				reason = r
			}
		}
		s.markClosed(reason)
	})
	_ = s.sock.On(protocol.SocketEvent, func(args ...any) {
		if len(args) == 0 {
			return
		}
		raw, err := rawJSON(args[0])
		if err != nil {
			s.log.Warn("ignoring undecodable message from master", "err", err)
			return
		}
		select {
		case s.inbox <- raw:
		case <-s.closed:
		}
	})
	s.sock.Connect()
	t.Reset(dc.timeout)
	select {
	case <-connected:
		return s, nil
	case err = <-failed:
		s.close()
		return nil, fmt.Errorf("connecting socket: %w", err)
	case <-t.C:
		s.close()
		return nil, fmt.Errorf("connecting socket: no answer within %s", dc.timeout)
	case <-ctx.Done():
		s.close()
		return nil, ctx.Err()
	}
}

// closeEngine tears down a manager whose socket was never connected.
func closeEngine(mgr *sio.Manager) {
	if e := mgr.Engine(); e != nil {
		e.Close()
	}
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
		case <-s.closed:
			return nil, nil, nil, fmt.Errorf("registering: connection closed: %s", s.closeReason())
		case <-t.C:
			return nil, nil, nil, fmt.Errorf("registering: no answer within %s", timeout)
		case raw := <-s.inbox:
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

// send emits one envelope. The encoder ignores struct tags, so the message
// travels as the plain map its JSON decodes to.
func (s *session) send(msg protocol.Message) error {
	select {
	case <-s.closed:
		return ErrNotConnected
	default:
	}
	if !s.sock.Connected() {
		return ErrNotConnected
	}
	v, err := toWire(msg)
	if err != nil {
		return err
	}
	if err = s.sock.Emit(protocol.SocketEvent, v); err != nil {
		return fmt.Errorf("emitting %s: %w", msg.Type, err)
	}
	return nil
}

// markClosed records that the connection ended.
func (s *session) markClosed(reason string) {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.reason = reason
		s.mu.Unlock()
		close(s.closed)
	})
}

// closeReason says why the connection ended.
func (s *session) closeReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// close disconnects the socket and closes the engine.
func (s *session) close() {
	s.markClosed("closed by the appliance")
	s.sock.Disconnect()
	closeEngine(s.mgr)
}

// toWire turns an envelope into the map the Socket.IO encoder writes.
func toWire(msg protocol.Message) (map[string]any, error) {
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", msg.Type, err)
	}
	var v map[string]any
	if err = json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("re-decoding %s: %w", msg.Type, err)
	}
	return v, nil
}

// rawJSON turns what the decoder produced (maps with float64 numbers) back
// into JSON for protocol.Decode; a peer may also send a JSON string.
func rawJSON(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		return []byte(s), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding received value: %w", err)
	}
	return b, nil
}

// socketURL splits a master URL into the origin the client dials and the
// Socket.IO path, keeping a path prefix (a master behind a reverse proxy
// at https://example.org/tidewatch serves /tidewatch/socket.io/).
func socketURL(raw string) (origin, path string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("parsing master url: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return "", "", fmt.Errorf("master url scheme %q: want http(s) or ws(s)", u.Scheme)
	}
	if u.Host == "" {
		return "", "", errors.New("master url has no host")
	}
	prefix := strings.TrimRight(u.Path, "/")
	return u.Scheme + "://" + u.Host, prefix + "/socket.io", nil
}

// redactURL drops user information and query from a URL for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "invalid"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
