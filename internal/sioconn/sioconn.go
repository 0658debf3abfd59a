// Package sioconn is one Socket.IO client connection to the master, made
// with the care the client library needs: the appliance's link and the
// reference client both connect through it.
//
// The library has connection races of its own (it can miss the engine's
// open event, or send CONNECT twice when a socket connects on a manager that
// is still opening), so a connection never lets the library reconnect:
// every Dial builds a fresh manager, opens it, and only then connects the
// socket; a step that stalls past the timeout is torn down and fails.
package sioconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/protocol"
	"github.com/zishang520/socket.io/clients/engine/v3/transports"
	sio "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// Defaults of [Config].
const (
	// DefaultTimeout bounds each step of Dial. It is short so that a
	// caller's reconnect back-off starts promptly when the master is down.
	DefaultTimeout = 5 * time.Second
	// DefaultInboxSize is how many received messages wait for the reader
	// before the library's reader is held back.
	DefaultInboxSize = 256
	// DefaultCloseReason is what CloseReason says after Close.
	DefaultCloseReason = "closed"
	// lostReason is the close reason when the library names none.
	lostReason = "connection lost"
)

// ErrNotConnected is returned by [Conn.Send] once the connection has ended.
var ErrNotConnected = errors.New("not connected")

// Steps of Dial, named by [StepError].
const (
	// StepReach is the plain TCP dial that tells a refused connection at
	// once (the websocket transport tells it only at its timeout).
	StepReach = "reaching server"
	// StepOpen is opening the Engine.IO connection.
	StepOpen = "opening connection"
	// StepConnect is connecting the default namespace.
	StepConnect = "connecting socket"
)

// StepError is a failed step of Dial: the master could not be reached, did
// not answer within the timeout, or refused the namespace connection.
type StepError struct {
	// Step is one of StepReach, StepOpen and StepConnect.
	Step string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// Config configures [Dial].
type Config struct {
	// URL is the master's address, http(s) or ws(s), optionally with a path
	// prefix (see SocketURL). Required.
	URL string
	// Auth is the Socket.IO handshake's auth object, e.g. an enrollment
	// token; nil sends none. It is never logged.
	Auth map[string]any
	// Timeout bounds each step of Dial; zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives warnings about undecodable messages; nil discards
	// them.
	Logger *slog.Logger
	// InboxSize is the capacity of Inbox; zero means DefaultInboxSize.
	InboxSize int
	// CloseReason is what CloseReason says after Close ended the
	// connection; empty means DefaultCloseReason.
	CloseReason string
}

// Conn is one connected Socket.IO connection on the default namespace. Its
// methods are safe for concurrent use. It does not reconnect.
type Conn struct {
	log         *slog.Logger
	closeReason string
	mgr         *sio.Manager
	sock        *sio.Socket
	// inbox carries the JSON of each received message, in arrival order.
	inbox chan []byte
	// done is closed when the connection ends.
	done      chan struct{}
	closeOnce sync.Once
	// mu guards reason and local.
	mu     sync.Mutex
	reason string
	local  bool
}

// Dial connects to the master and joins the default namespace with cfg.Auth
// in the handshake. It returns once the master accepted the namespace
// connection; from then on every "message" event is queued on Inbox. A
// failed step is a *StepError; a done ctx returns ctx.Err().
func Dial(ctx context.Context, cfg *Config) (*Conn, error) {
	c := *cfg
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.InboxSize <= 0 {
		c.InboxSize = DefaultInboxSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.CloseReason == "" {
		c.CloseReason = DefaultCloseReason
	}
	origin, path, err := SocketURL(c.URL)
	if err != nil {
		return nil, err
	}
	// The websocket transport reports a refused connection only at its
	// timeout; a plain TCP dial first says at once, and why.
	if err := probe(ctx, origin, c.Timeout); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &StepError{Step: StepReach, Err: err}
	}
	opts := sio.DefaultOptions()
	opts.SetTransports(types.NewSet(transports.WebSocket))
	opts.SetMultiplex(false)
	opts.SetForceNew(true)
	opts.SetReconnection(false)
	opts.SetAutoConnect(false)
	opts.SetTimeout(c.Timeout)
	opts.SetPath(path)
	if c.Auth != nil {
		opts.SetAuth(c.Auth)
	}

	// The manager is opened first and the socket connected only after:
	// connecting a socket on a manager that is still opening can send
	// CONNECT twice in this library.
	t := time.NewTimer(c.Timeout)
	defer t.Stop()
	var mgr *sio.Manager
	for {
		var retry bool
		mgr, retry, err = openOnce(ctx, origin, opts, t.C, c)
		if err == nil {
			break
		}
		if !retry {
			return nil, err
		}
		c.Logger.Debug("manager missed its open event; retrying with a new one")
	}
	conn := &Conn{
		log:         c.Logger,
		closeReason: c.CloseReason,
		mgr:         mgr,
		sock:        mgr.Socket("/", opts),
		inbox:       make(chan []byte, c.InboxSize),
		done:        make(chan struct{}),
	}
	connected := make(chan struct{})
	failed := make(chan error, 1)
	var once sync.Once
	_ = conn.sock.On("connect", func(...any) { once.Do(func() { close(connected) }) })
	_ = conn.sock.On("connect_error", func(args ...any) {
		err := errors.New("connect error")
		if len(args) > 0 {
			if e, ok := args[0].(error); ok && e != nil {
				err = e
			}
		}
		select {
		case failed <- err:
		default:
		}
	})
	_ = conn.sock.On("disconnect", func(args ...any) {
		reason := lostReason
		if len(args) > 0 {
			if r, ok := args[0].(string); ok && r != "" {
				reason = r
			}
		}
		conn.markClosed(reason, false)
	})
	_ = conn.sock.On(protocol.SocketEvent, conn.onMessage)
	conn.sock.Connect()
	t.Reset(c.Timeout)
	select {
	case <-connected:
		return conn, nil
	case err = <-failed:
		conn.Close()
		return nil, &StepError{Step: StepConnect, Err: err}
	case <-t.C:
		conn.Close()
		return nil, &StepError{Step: StepConnect, Err: fmt.Errorf("no answer within %s", c.Timeout)}
	case <-ctx.Done():
		conn.Close()
		return nil, ctx.Err()
	}
}

// openGrace is how long after Open returned the manager's open event may
// take. Open dials the websocket itself, so the event is at most a round
// trip away; when it does not come, the library subscribed to the engine's
// open event after the engine had opened, and a new manager is the fix.
const openGrace = time.Second

// openOnce opens one manager. retry reports a manager that lost its open
// event to the library's race; the caller tries again while time remains.
func openOnce(ctx context.Context, origin string, opts *sio.Options, deadline <-chan time.Time, c Config) (*sio.Manager, bool, error) {
	mgr := sio.NewManager(origin, opts)
	opened, returned, abandon := openManager(mgr, c.Logger)
	// giveUp tears down the open step; openManager closes the engine too
	// should Open return only later.
	giveUp := func() {
		close(abandon)
		closeEngine(mgr)
	}
	// Open itself dials the websocket, with no timeout of its own: a
	// server that accepts the TCP connection and never answers would hold
	// it forever. So it runs on its own goroutine, and the socket is made
	// only once it has returned.
	select {
	case err := <-returned:
		if err != nil {
			giveUp()
			return nil, false, &StepError{Step: StepOpen, Err: err}
		}
	case <-deadline:
		giveUp()
		return nil, false, &StepError{Step: StepOpen, Err: fmt.Errorf("no answer within %s", c.Timeout)}
	case <-ctx.Done():
		giveUp()
		return nil, false, ctx.Err()
	}
	grace := time.NewTimer(openGrace)
	defer grace.Stop()
	select {
	case err := <-opened:
		if err != nil {
			giveUp()
			return nil, false, &StepError{Step: StepOpen, Err: err}
		}
		return mgr, false, nil
	case <-grace.C:
		giveUp()
		return nil, true, &StepError{Step: StepOpen, Err: errors.New("open event lost")}
	case <-deadline:
		giveUp()
		return nil, false, &StepError{Step: StepOpen, Err: fmt.Errorf("no answer within %s", c.Timeout)}
	case <-ctx.Done():
		giveUp()
		return nil, false, ctx.Err()
	}
}

// openManager calls mgr.Open on a goroutine. opened receives Open's
// outcome; returned receives nil when Open has returned (an error if it
// panicked). Once abandon is closed, an Open that returns closes its engine.
func openManager(mgr *sio.Manager, log *slog.Logger) (opened, returned <-chan error, abandon chan struct{}) {
	op := make(chan error, 1)
	ret := make(chan error, 1)
	abandon = make(chan struct{})
	go func() {
		defer func() {
			if r := recover(); r != nil {
				log.Error("recovered panic opening a connection", "panic", r, "stack", string(debug.Stack()))
				ret <- fmt.Errorf("opening panicked: %v", r)
			}
		}()
		mgr.Open(func(err error) {
			select {
			case op <- err:
			default:
			}
		})
		select {
		case <-abandon:
			closeEngine(mgr)
		default:
		}
		ret <- nil
	}()
	return op, ret, abandon
}

// probe opens and closes a TCP connection to the origin's host and port.
func probe(ctx context.Context, origin string, timeout time.Duration) error {
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("parsing master url: %w", err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" || u.Scheme == "wss" {
			port = "443"
		}
	}
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		// The bare cause ("connect: connection refused") reads better than
		// the dial's full "dial tcp 127.0.0.1:1: ..." in a status line.
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			return oe.Err
		}
		return err
	}
	return nc.Close()
}

// closeEngine tears down a manager whose socket never connected.
func closeEngine(mgr *sio.Manager) {
	if e := mgr.Engine(); e != nil {
		e.Close()
	}
}

// onMessage queues one "message" event; it runs on the library's goroutine
// and holds it back while the inbox is full.
func (c *Conn) onMessage(args ...any) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("recovered panic handling a message", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	if len(args) == 0 {
		return
	}
	raw, err := rawJSON(args[0])
	if err != nil {
		c.log.Warn("ignoring an undecodable message", "err", err)
		return
	}
	select {
	case c.inbox <- raw:
	case <-c.done:
	}
}

// Inbox delivers the JSON of every received "message" event, in arrival
// order, ready for protocol.Decode. It is never closed; watch Done.
func (c *Conn) Inbox() <-chan []byte { return c.inbox }

// Done is closed when the connection ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseReason says why the connection ended: the library's disconnect
// reason (e.g. "io server disconnect", "transport close") or, after Close,
// Config.CloseReason. It is empty while the connection is open.
func (c *Conn) CloseReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// ClosedLocally reports whether Close, not the master or the transport,
// ended the connection.
func (c *Conn) ClosedLocally() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local
}

// Send emits one envelope as a "message" event without waiting for an
// answer. The library's encoder ignores struct tags, so the message travels
// as the plain map its JSON decodes to. It fails with ErrNotConnected once
// the connection has ended.
func (c *Conn) Send(msg protocol.Message) error {
	select {
	case <-c.done:
		return ErrNotConnected
	default:
	}
	if !c.sock.Connected() {
		return ErrNotConnected
	}
	v, err := toWire(msg)
	if err != nil {
		return err
	}
	if err = c.sock.Emit(protocol.SocketEvent, v); err != nil {
		return fmt.Errorf("emitting %s: %w", msg.Type, err)
	}
	return nil
}

// Close disconnects and closes the engine. It is safe to call more than
// once.
func (c *Conn) Close() {
	c.markClosed(c.closeReason, true)
	c.sock.Disconnect()
	closeEngine(c.mgr)
}

// markClosed records the first reason the connection ended.
func (c *Conn) markClosed(reason string, local bool) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.reason, c.local = reason, local
		c.mu.Unlock()
		close(c.done)
	})
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
