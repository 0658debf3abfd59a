// Package link is the appliance's connection to the master: one Socket.IO
// connection at a time, authenticated with the enrollment token, registered
// with worker:register, kept alive with heartbeats and re-established
// forever with exponential back-off and jitter.
//
// The Socket.IO client library has connection races of its own (it can miss
// the engine's open event, or send CONNECT twice when a socket connects on a
// manager that is still opening), so the link never lets the library
// reconnect: every attempt builds a fresh manager, opens it, and only then
// connects the socket; an attempt that stalls past ConnectTimeout is torn
// down and counted as failed.
//
// What the master sends is handed to a [Handler] on one goroutine, in the
// order it arrived, with the register ack always first on a connection.
package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/internal/sioconn"
	"github.com/tidewatch/tidewatch/protocol"
)

// Defaults of [Config].
const (
	// DefaultHeartbeatInterval is the contract's heartbeat period.
	DefaultHeartbeatInterval = 10 * time.Second
	// DefaultConnectTimeout bounds opening the connection, connecting the
	// socket and, separately, waiting for the register answer.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultReconnectMin is the first back-off delay.
	DefaultReconnectMin = time.Second
	// DefaultReconnectMax caps the back-off delay.
	DefaultReconnectMax = 30 * time.Second
	// inboxSize buffers received messages between the library's reader and
	// the dispatching goroutine; a full inbox holds the reader back.
	inboxSize = 256
)

// ErrNotConnected is returned by [Link.Send] while the link is not
// registered with the master.
var ErrNotConnected = errors.New("not connected to the master")

// State is the state of the link.
type State string

// Link states.
const (
	// StateStopped means the link is not running.
	StateStopped State = "stopped"
	// StateConnecting means an attempt or a back-off is under way.
	StateConnecting State = "connecting"
	// StateConnected means registered with the master.
	StateConnected State = "connected"
	// StateRejected means the master refused the registration (bad or
	// revoked token, unsupported version); the link keeps retrying slowly.
	StateRejected State = "rejected"
)

// Status is a snapshot of the link.
type Status struct {
	// State is the link's state.
	State State
	// Detail explains it: the last connection error or the master's reason
	// for a rejection. It never contains the token.
	Detail string
	// Since is when State was entered.
	Since time.Time
	// Attempts counts connection attempts since the last registration.
	Attempts int
}

// Handler receives what the master sends. Its methods are called on one
// goroutine, never concurrently, in the order the messages arrived.
type Handler interface {
	// Registered is called after each successful worker:register, before
	// any other message of that connection is handed over.
	Registered(ctx context.Context, ack *protocol.WorkerRegisterAck)
	// Received is called for every other message: task assignments and
	// revocations, master:shutdown, acks and "{type}:error" answers.
	// Heartbeat acks are handled by the link.
	Received(ctx context.Context, env protocol.Envelope, payload protocol.Validator)
	// Heartbeat returns the next heartbeat; the link fills in worker_id. It
	// is called on the heartbeat goroutine, concurrently with the others.
	Heartbeat(ctx context.Context) (protocol.WorkerHeartbeat, error)
}

// Config configures a [Link].
type Config struct {
	// MasterURL is the master's address, http(s) or ws(s), optionally with a
	// path prefix. Required.
	MasterURL string
	// Token is the enrollment token; sent in the Socket.IO handshake only.
	// Required. Never logged.
	Token string
	// Register is the worker:register payload sent on every connection;
	// WorkerID and at least one capability are required.
	Register protocol.WorkerRegister
	// Handler receives the master's messages. Required.
	Handler Handler
	// Logger receives the link's log. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for envelopes and status. Nil means time.Now.
	Now func() time.Time
	// HeartbeatInterval is the heartbeat period. When the master asks for
	// a shorter one in its register ack, the shorter one is used, so its
	// liveness timeout holds. Zero means DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// ConnectTimeout bounds each step of an attempt. Zero means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the exponential back-off. Zero
	// means DefaultReconnectMin and DefaultReconnectMax.
	ReconnectMin, ReconnectMax time.Duration
	// RejectedRetry is the wait after the master refused the registration.
	// Zero means ReconnectMax.
	RejectedRetry time.Duration
}

// Link is a connection to the master kept up until Shutdown.
type Link struct {
	conf Config
	log  *slog.Logger

	// mu guards status and cur.
	mu     sync.Mutex
	status Status
	// cur is the registered session; nil while not connected.
	cur *session

	// runMu guards cancel and done.
	runMu  sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New checks conf and returns a link that does nothing until Start.
func New(conf *Config) (*Link, error) {
	if conf == nil {
		return nil, errors.New("link: nil config")
	}
	c := *conf
	switch {
	case c.MasterURL == "":
		return nil, errors.New("link: master url is empty")
	case c.Token == "":
		return nil, errors.New("link: token is empty")
	case c.Handler == nil:
		return nil, errors.New("link: handler is nil")
	}
	if err := c.Register.Validate(); err != nil {
		return nil, fmt.Errorf("link: register payload: %w", err)
	}
	if _, _, err := sioconn.SocketURL(c.MasterURL); err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	setDefaults(&c)
	return &Link{
		conf:   c,
		log:    c.Logger.With("component", "link", "master", sioconn.RedactURL(c.MasterURL)),
		status: Status{State: StateStopped, Since: c.Now()},
	}, nil
}

// setDefaults fills the zero fields of c.
func setDefaults(c *Config) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	def(&c.ConnectTimeout, DefaultConnectTimeout)
	def(&c.ReconnectMin, DefaultReconnectMin)
	def(&c.ReconnectMax, DefaultReconnectMax)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	def(&c.RejectedRetry, c.ReconnectMax)
}

// Start begins connecting in the background; the link reconnects until
// Shutdown. ctx is used only for the start.
func (l *Link) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("link: starting: %w", err)
	}
	l.runMu.Lock()
	defer l.runMu.Unlock()
	if l.done != nil {
		return errors.New("link: already started")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel, l.done = cancel, make(chan struct{})
	l.setStatus(StateConnecting, "", 0)
	go l.run(runCtx, l.done)
	return nil
}

// Shutdown disconnects and stops reconnecting; it waits for the link's
// goroutines until ctx ends.
func (l *Link) Shutdown(ctx context.Context) error {
	l.runMu.Lock()
	cancel, done := l.cancel, l.done
	l.runMu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("link: shutting down: %w", ctx.Err())
	}
}

// Status returns the link's state.
func (l *Link) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Send emits msg on the registered connection. It does not wait for an
// answer; it fails with ErrNotConnected while the link is not registered,
// so the caller keeps what must not be lost (the outbox does).
func (l *Link) Send(ctx context.Context, msg protocol.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	s := l.cur
	l.mu.Unlock()
	if s == nil {
		return ErrNotConnected
	}
	return s.send(msg)
}

// setStatus records a new state.
func (l *Link) setStatus(st State, detail string, attempts int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status.State != st {
		l.status.Since = l.conf.Now()
	}
	l.status.State, l.status.Detail, l.status.Attempts = st, detail, attempts
}

// setCurrent makes s the registered session (nil: none).
func (l *Link) setCurrent(s *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = s
}

// run is the link's goroutine: connect, serve, back off, again.
func (l *Link) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	defer l.setStatus(StateStopped, "", 0)
	defer func() {
		if v := recover(); v != nil {
			l.log.Error("link panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	bo := newBackoff(l.conf.ReconnectMin, l.conf.ReconnectMax)
	for attempt := 1; ctx.Err() == nil; attempt++ {
		res := l.connectOnce(ctx, attempt)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		switch {
		case res.registered:
			// A connection that registered resets the back-off: the next
			// attempt starts at ReconnectMin.
			bo.reset()
			attempt = 0
			wait = bo.next()
			l.setStatus(StateConnecting, "connection lost: "+res.reason, 0)
			l.log.WarnContext(ctx, "connection lost", "reason", res.reason, "retry_in", wait.Round(time.Millisecond))
		case res.rejected != nil:
			wait = l.conf.RejectedRetry
			l.setStatus(StateRejected, res.rejected.Message, attempt)
			l.log.ErrorContext(ctx, "master refused registration", "code", string(res.rejected.Code),
				"reason", res.rejected.Message, "retry_in", wait)
		default:
			wait = bo.next()
			l.setStatus(StateConnecting, res.reason, attempt)
			l.log.WarnContext(ctx, "connecting to master", "attempt", attempt, "err", res.reason, "retry_in", wait.Round(time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// result is how one connection ended.
type result struct {
	// registered is set when the master accepted the registration.
	registered bool
	// rejected is the master's refusal of the registration.
	rejected *protocol.Error
	// reason explains a failure or a lost connection.
	reason string
}

// connectOnce makes one connection attempt and, when registered, serves the
// connection until it ends.
func (l *Link) connectOnce(ctx context.Context, attempt int) result {
	s, err := dial(ctx, &dialConfig{
		masterURL: l.conf.MasterURL, token: l.conf.Token, timeout: l.conf.ConnectTimeout, log: l.log,
	})
	if err != nil {
		return result{reason: err.Error()}
	}
	defer s.close()

	ack, buffered, rej, err := s.register(ctx, &l.conf.Register, l.conf.Now, l.conf.ConnectTimeout)
	switch {
	case rej != nil:
		return result{rejected: rej}
	case err != nil:
		return result{reason: err.Error()}
	}

	l.setCurrent(s)
	defer l.setCurrent(nil)
	l.setStatus(StateConnected, "", 0)
	l.log.InfoContext(ctx, "registered with master", "worker_id", l.conf.Register.WorkerID,
		"assigned", len(ack.AssignedAccounts), "attempt", attempt)

	hbCtx, stopHB := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	interval := l.conf.HeartbeatInterval
	if hint := time.Duration(ack.HeartbeatInterval) * time.Second; hint > 0 && hint < interval {
		interval = hint
	}
	go l.heartbeats(hbCtx, s, interval, hbDone)
	defer func() {
		stopHB()
		<-hbDone
	}()

	l.conf.Handler.Registered(ctx, ack)
	for _, raw := range buffered {
		l.dispatch(ctx, raw)
	}
	// The master answers every heartbeat. A connection that stays silent
	// for several heartbeats is dead even if the socket has not noticed
	// (a half-open TCP connection, or a transport whose writes stalled):
	// drop it and connect afresh rather than wait for Engine.IO's ping
	// timeout.
	silence := silenceLimit(interval, l.conf.ConnectTimeout)
	watch := time.NewTicker(silence / 4)
	defer watch.Stop()
	lastHeard := time.Now()
	for {
		select {
		case <-ctx.Done():
			return result{registered: true, reason: "stopped"}
		case <-s.conn.Done():
			return result{registered: true, reason: s.conn.CloseReason()}
		case raw := <-s.conn.Inbox():
			lastHeard = time.Now()
			l.dispatch(ctx, raw)
		case <-watch.C:
			if quiet := time.Since(lastHeard); quiet > silence {
				return result{registered: true, reason: fmt.Sprintf("no message from the master for %s", quiet.Round(time.Second))}
			}
		}
	}
}

// silenceLimit is how long a registered connection may stay silent before
// it is dropped: three heartbeats plus a connect timeout for slow answers.
func silenceLimit(heartbeat, connectTimeout time.Duration) time.Duration {
	return 3*heartbeat + connectTimeout
}

// dispatch decodes one received message and hands it to the handler.
func (l *Link) dispatch(ctx context.Context, raw []byte) {
	defer func() {
		if v := recover(); v != nil {
			l.log.ErrorContext(ctx, "handler panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	env, payload, perr := protocol.Decode(raw)
	if perr != nil {
		l.log.WarnContext(ctx, "ignoring message from master", "type", env.Type, "err", perr.Error())
		return
	}
	switch env.Type {
	case protocol.TypeWorkerHeartbeatAck:
		return
	case protocol.ErrorType(protocol.TypeWorkerHeartbeat):
		if p, ok := payload.(*protocol.ErrorPayload); ok {
			l.log.WarnContext(ctx, "master refused heartbeat", "code", string(p.ErrorCode), "reason", p.ErrorMessage)
		}
		return
	case protocol.TypeWorkerRegisterAck, protocol.ErrorType(protocol.TypeWorkerRegister):
		// A late answer to a register of this connection: already settled.
		return
	}
	l.conf.Handler.Received(ctx, env, payload)
}

// heartbeats sends a heartbeat at once and then every interval until ctx
// ends; it is run as a goroutine.
func (l *Link) heartbeats(ctx context.Context, s *session, interval time.Duration, done chan<- struct{}) {
	defer close(done)
	defer func() {
		if v := recover(); v != nil {
			l.log.Error("heartbeat panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		hb, err := l.conf.Handler.Heartbeat(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			l.log.WarnContext(ctx, "building heartbeat", "err", err)
		default:
			hb.WorkerID = l.conf.Register.WorkerID
			if err = s.send(protocol.NewMessage(protocol.TypeWorkerHeartbeat, hb, l.conf.Now(), "")); err != nil {
				l.log.WarnContext(ctx, "sending heartbeat", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
