package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/internal/sioconn"
	"github.com/tidewatch/tidewatch/protocol"
)

// Defaults of DialConfig.
const (
	// DefaultDialTimeout bounds each step of connecting: opening the
	// websocket, joining the namespace, client:connect. It is short so that
	// reconnect backoff starts promptly when the server is down.
	DefaultDialTimeout = 5 * time.Second
	// DefaultRequestTimeout bounds a request/answer exchange on the socket.
	DefaultRequestTimeout = 15 * time.Second
	// eventBuffer is how many unsolicited events wait for the reader before
	// the socket's reader is held back.
	eventBuffer = 256
	// closedByClient is what Err says after Close.
	closedByClient = "closed by the client"
)

// DialConfig configures Dial.
type DialConfig struct {
	// Server is the master URL (see NormalizeServer).
	Server string
	// Token is the session token from Login; it travels only inside
	// client:connect.
	Token string
	// DeviceID identifies this device to the master; keep it stable across
	// runs so the master sees one device, not one per start.
	DeviceID string
	// DeviceType is desktop, ios or android (the contract), or web or cli
	// (Tidewatch extensions); empty means desktop.
	DeviceType string
	// DeviceName is a human name for the device, shown to the user.
	DeviceName string
	// Timeout bounds each connect step; zero means DefaultDialTimeout.
	Timeout time.Duration
	// RequestTimeout bounds each request; zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives debug and warning records; nil discards them.
	Logger *slog.Logger
	// Now is the clock that stamps envelopes; nil means time.Now.
	Now func() time.Time
}

// Event is an unsolicited message from the master: exactly one field is
// set.
type Event struct {
	// Push is a new notification (master:notification:push).
	Push *protocol.NotificationPush
	// ReadBy says a notification was read, on this or another device
	// (master:notification:read, an extension).
	ReadBy *protocol.NotificationReadBy
	// AccountUpdate is an account's new status (master:account:update).
	AccountUpdate *protocol.AccountUpdate
}

// answer is a decoded reply to a request.
type answer struct {
	env     protocol.Envelope
	payload protocol.Validator
	perr    *protocol.Error
}

// Session is one connected, authenticated Socket.IO connection to a master.
// Its methods are safe for concurrent use. It does not reconnect; Client
// does.
type Session struct {
	cfg  DialConfig
	log  *slog.Logger
	conn *sioconn.Conn
	ack  protocol.ClientConnectAck

	events chan Event

	// mu guards pending.
	mu      sync.Mutex
	pending map[string]chan answer
}

// Dial connects to the master and sends client:connect. It returns once the
// master accepted the device; from then on pushes for the user are queued
// on Events. A refused token is an error matching ErrUnauthorized; a master
// that cannot be reached is an *UnreachableError.
func Dial(ctx context.Context, cfg *DialConfig) (*Session, error) {
	c := *cfg
	if c.Timeout <= 0 {
		c.Timeout = DefaultDialTimeout
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.DeviceType == "" {
		c.DeviceType = protocol.DeviceDesktop
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Token == "" || c.DeviceID == "" {
		return nil, errors.New("dial: token and device id are required")
	}
	server, err := NormalizeServer(c.Server)
	if err != nil {
		return nil, err
	}
	c.Server = server
	s, err := open(ctx, &c)
	if err != nil {
		return nil, err
	}
	ans, err := s.request(ctx, protocol.TypeClientConnect, protocol.ClientConnect{
		DeviceID: c.DeviceID, DeviceType: c.DeviceType, DeviceName: c.DeviceName, AuthToken: c.Token,
	}, c.Timeout)
	if err != nil {
		s.Close()
		return nil, err
	}
	p, ok := ans.payload.(*protocol.ClientConnectAck)
	if !ok || !p.Success {
		s.Close()
		return nil, errors.New("client:connect: the master answered without success")
	}
	s.ack = *p
	return s, nil
}

// open makes the Socket.IO connection (see package sioconn for the care
// it takes) and starts handing what arrives to onMessage.
func open(ctx context.Context, c *DialConfig) (*Session, error) {
	conn, err := sioconn.Dial(ctx, &sioconn.Config{
		URL:         c.Server,
		Timeout:     c.Timeout,
		Logger:      c.Logger,
		InboxSize:   eventBuffer,
		CloseReason: closedByClient,
	})
	if err != nil {
		var se *sioconn.StepError
		if errors.As(err, &se) {
			return nil, &UnreachableError{URL: c.Server, Err: se.Err}
		}
		return nil, err
	}
	s := &Session{
		cfg:     *c,
		log:     c.Logger,
		conn:    conn,
		events:  make(chan Event, eventBuffer),
		pending: map[string]chan answer{},
	}
	go s.receive()
	return s, nil
}

// receive hands every received message to onMessage, in arrival order,
// until the connection ends; it is run as a goroutine.
func (s *Session) receive() {
	for {
		select {
		case raw := <-s.conn.Inbox():
			s.onMessage(raw)
		case <-s.conn.Done():
			return
		}
	}
}

// ConnectAck is the master's answer to client:connect.
func (s *Session) ConnectAck() protocol.ClientConnectAck { return s.ack }

// Events delivers pushes, read marks and account updates in arrival order.
// It is never closed; watch Done.
func (s *Session) Events() <-chan Event { return s.events }

// Done is closed when the connection ends.
func (s *Session) Done() <-chan struct{} { return s.conn.Done() }

// Err says why the connection ended; nil while it is open.
func (s *Session) Err() error {
	select {
	case <-s.conn.Done():
	default:
		return nil
	}
	if s.conn.ClosedLocally() {
		return errors.New(s.conn.CloseReason())
	}
	return fmt.Errorf("disconnected: %s", s.conn.CloseReason())
}

// Close disconnects. It is safe to call more than once.
func (s *Session) Close() { s.conn.Close() }

// Sync sends client:sync:request and returns one page of the answer. The
// device id is filled in when req leaves it empty.
func (s *Session) Sync(ctx context.Context, req protocol.SyncRequest) (*protocol.SyncResponse, error) {
	if req.DeviceID == "" {
		req.DeviceID = s.cfg.DeviceID
	}
	ans, err := s.request(ctx, protocol.TypeSyncRequest, req, s.cfg.RequestTimeout)
	if err != nil {
		return nil, err
	}
	p, ok := ans.payload.(*protocol.SyncResponse)
	if !ok || !p.Success {
		return nil, errors.New("client:sync:request: the master answered without success")
	}
	return p, nil
}

// MarkRead marks a notification read for the user on every device. An
// unknown id is a *ProtocolError with code ERR_NOT_FOUND.
func (s *Session) MarkRead(ctx context.Context, notificationID string) error {
	ans, err := s.request(ctx, protocol.TypeNotificationRead, protocol.NotificationRead{NotificationID: notificationID}, s.cfg.RequestTimeout)
	if err != nil {
		return err
	}
	if p, ok := ans.payload.(*protocol.NotificationReadAck); !ok || !p.Success {
		return errors.New("client:notification:read: the master answered without success")
	}
	return nil
}

// request sends one envelope with a fresh request id and waits for the
// answer carrying the same id: the success type or "{typ}:error".
func (s *Session) request(ctx context.Context, typ string, payload any, timeout time.Duration) (answer, error) {
	// A random id, so a late answer to an earlier request, or to another
	// session's, is never taken for this one's.
	id := typ + "-" + rand.Text()[:16]
	ch := make(chan answer, 1)
	s.mu.Lock()
	s.pending[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
	}()
	if err := s.send(protocol.NewMessage(typ, payload, s.cfg.Now(), id)); err != nil {
		return answer{}, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-ch:
		if a.env.Type == protocol.ErrorType(typ) {
			pe := &ProtocolError{Type: typ, Code: protocol.ErrInternal, Message: "malformed error answer"}
			if ep, ok := a.payload.(*protocol.ErrorPayload); ok {
				pe.Code, pe.Message = ep.ErrorCode, ep.ErrorMessage
			}
			return a, pe
		}
		if a.perr != nil {
			return a, fmt.Errorf("%s: undecodable answer: %w", typ, a.perr)
		}
		return a, nil
	case <-s.conn.Done():
		return answer{}, fmt.Errorf("%s: %w (%v)", typ, ErrNotConnected, s.Err())
	case <-t.C:
		return answer{}, fmt.Errorf("%s: no answer within %s", typ, timeout)
	case <-ctx.Done():
		return answer{}, ctx.Err()
	}
}

// send emits one envelope without waiting for an answer.
func (s *Session) send(msg protocol.Message) error {
	if err := s.conn.Send(msg); err != nil {
		if errors.Is(err, sioconn.ErrNotConnected) {
			return fmt.Errorf("%s: %w", msg.Type, ErrNotConnected)
		}
		return err
	}
	return nil
}

// onMessage handles one received message: an answer goes to its waiting
// request, anything else to Events. It runs on the receive goroutine.
func (s *Session) onMessage(raw []byte) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("recovered panic handling a message", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	env, payload, perr := protocol.Decode(raw)
	if env.RequestID != "" {
		s.mu.Lock()
		ch, ok := s.pending[env.RequestID]
		s.mu.Unlock()
		if ok {
			select {
			case ch <- answer{env: env, payload: payload, perr: perr}:
			default:
			}
			return
		}
	}
	if perr != nil {
		// Newer masters may send events this client does not know.
		s.log.Debug("ignoring a message", "type", env.Type, "err", perr.Error())
		return
	}
	var ev Event
	switch p := payload.(type) {
	case *protocol.NotificationPush:
		ev.Push = p
	case *protocol.NotificationReadBy:
		ev.ReadBy = p
	case *protocol.AccountUpdate:
		ev.AccountUpdate = p
	case *protocol.ErrorPayload:
		s.log.Warn("the master reported an error", "type", env.Type, "code", string(p.ErrorCode), "message", p.ErrorMessage)
		return
	default:
		s.log.Debug("ignoring a message", "type", env.Type)
		return
	}
	select {
	case s.events <- ev:
	case <-s.conn.Done():
	}
}
