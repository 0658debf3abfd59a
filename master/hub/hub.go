// Package hub is the master's Socket.IO side: it authenticates workers and
// client devices, dispatches every envelope of the contract, keeps the fleet's
// liveness and account assignment, turns detected messages into stored
// notifications and pushes them to exactly the devices allowed to see them.
//
// Workers are addressed through the room "worker:<id>" and a user's devices
// through "user:<id>", never through a map of connection ids, so a
// reconnecting peer is found again without bookkeeping.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/master/metrics"
	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// Defaults follow the contract: a heartbeat every 10 s, offline after three
// missed ones.
const (
	DefaultHeartbeatInterval     = 10 * time.Second
	DefaultLivenessTimeout       = 30 * time.Second
	DefaultDisconnectGrace       = 30 * time.Second
	DefaultAssignAckTimeout      = 15 * time.Second
	DefaultAssignRetries         = 2
	DefaultSweepInterval         = time.Second
	DefaultSyncPageSize          = 100
	DefaultNetworkErrorThreshold = 3
	DefaultShutdownGrace         = 30 * time.Second
)

// Config configures a Hub.
type Config struct {
	// Store holds everything durable; must not be nil.
	Store *store.Store
	// Issuer verifies client JWTs; must not be nil.
	Issuer *auth.Issuer
	// Metrics receives the hub's figures; nil means none are kept.
	Metrics *metrics.Metrics
	// Logger must not be nil.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// HeartbeatInterval is the period workers are told to heartbeat at.
	HeartbeatInterval time.Duration
	// LivenessTimeout is how long a connected worker may stay silent before
	// it is declared offline.
	LivenessTimeout time.Duration
	// DisconnectGrace is how long a disconnected worker keeps its accounts
	// before they move.
	DisconnectGrace time.Duration
	// AssignAckTimeout is how long a master:task:assign may go unacked
	// before it is sent again.
	AssignAckTimeout time.Duration
	// AssignRetries is how many times an unacked assignment is resent before
	// the account moves to another worker.
	AssignRetries int
	// SweepInterval is the period of the liveness and assignment loop.
	SweepInterval time.Duration
	// SyncPageSize is the default and largest page of client:sync:response.
	SyncPageSize int
	// LoginTimeout is how long a QR login waits for a scan, and
	// LoginGrace how much longer the master waits for the appliance's word.
	LoginTimeout, LoginGrace time.Duration
	// NetworkErrorThreshold is how many network errors in a row put an
	// account into the error state.
	NetworkErrorThreshold int
	// PingInterval and PingTimeout tune Engine.IO's own keepalive; zero
	// keeps the library's defaults.
	PingInterval, PingTimeout time.Duration
}

// withDefaults returns a copy of c with zero durations and counts filled in.
func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	setDur(&c.LivenessTimeout, DefaultLivenessTimeout)
	setDur(&c.DisconnectGrace, DefaultDisconnectGrace)
	setDur(&c.AssignAckTimeout, DefaultAssignAckTimeout)
	setDur(&c.SweepInterval, DefaultSweepInterval)
	setDur(&c.LoginTimeout, DefaultLoginTimeout)
	setDur(&c.LoginGrace, DefaultLoginGrace)
	if c.AssignRetries <= 0 {
		c.AssignRetries = DefaultAssignRetries
	}
	if c.SyncPageSize <= 0 {
		c.SyncPageSize = DefaultSyncPageSize
	}
	if c.NetworkErrorThreshold <= 0 {
		c.NetworkErrorThreshold = DefaultNetworkErrorThreshold
	}
	return c
}

// Hub is the master's Socket.IO endpoint and the fleet's controller.
type Hub struct {
	cfg    Config
	st     *store.Store
	issuer *auth.Issuer
	m      *metrics.Metrics
	log    *slog.Logger
	io     *socket.Server
	http   http.Handler

	// mu guards workers and clients.
	mu      sync.Mutex
	workers map[string]*workerState
	clients int

	// loginMu guards logins.
	loginMu sync.Mutex
	logins  map[string]*LoginSession

	// admitting holds, per socket being connected, a channel closed once
	// the library finished connecting it; see admit.
	admitting sync.Map

	// assignMu serialises assignment decisions so two paths never give one
	// account to two workers.
	assignMu sync.Mutex

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// New builds a Hub. Nothing runs until Start.
func New(cfg *Config) (*Hub, error) {
	if cfg == nil || cfg.Store == nil || cfg.Issuer == nil || cfg.Logger == nil {
		return nil, errors.New("hub: store, issuer and logger are required")
	}
	c := cfg.withDefaults()
	h := &Hub{
		cfg:     c,
		st:      c.Store,
		issuer:  c.Issuer,
		m:       c.Metrics,
		log:     c.Logger.With("component", "hub"),
		workers: map[string]*workerState{},
		logins:  map[string]*LoginSession{},
	}
	opts := socket.DefaultServerOptions()
	opts.SetMaxHttpBufferSize(int64(protocol.MaxMessageBytes) * 2)
	if c.PingInterval > 0 {
		opts.SetPingInterval(c.PingInterval)
	}
	if c.PingTimeout > 0 {
		opts.SetPingTimeout(c.PingTimeout)
	}
	opts.SetServeClient(false)
	h.io = socket.NewServer(nil, opts)
	h.http = h.io.ServeHandler(opts)
	h.io.Use(h.admit)
	if err := h.io.On("connection", func(args ...any) {
		if s, ok := args[0].(*socket.Socket); ok {
			h.connected(s)
		}
	}); err != nil {
		return nil, fmt.Errorf("hub: registering connection handler: %w", err)
	}
	return h, nil
}

// admitTimeout bounds how long admit holds a connection's reader.
const admitTimeout = 5 * time.Second

// admit is the namespace middleware. It attaches the socket's listeners and
// then holds the connection's packet reader until the library has finished
// connecting the socket. The library sends CONNECT to the peer before it
// records the socket as connected, on another goroutine; a peer that
// answers at once (every client sends its first message right after
// "connect") could otherwise have that message read while the socket is
// unknown, and the library closes such connections.
func (h *Hub) admit(s *socket.Socket, next func(*socket.ExtendedError)) {
	h.onConnection(s)
	done := make(chan struct{})
	h.admitting.Store(s.Id(), done)
	next(nil)
	select {
	case <-done:
	case <-time.After(admitTimeout):
		h.admitting.Delete(s.Id())
		h.log.Warn("socket connect did not complete", "sid", string(s.Id()))
	}
}

// connected runs on the library's "connection" event, after the socket is
// fully registered, and releases admit.
func (h *Hub) connected(s *socket.Socket) {
	if done, ok := h.admitting.LoadAndDelete(s.Id()); ok {
		close(done.(chan struct{}))
	}
}

// Handler serves Socket.IO; mount it at /socket.io/.
func (h *Hub) Handler() http.Handler { return h.http }

// Start runs the liveness and assignment loop until Shutdown.
func (h *Hub) Start(ctx context.Context) error {
	ctx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := h.markAllOffline(ctx); err != nil {
		return err
	}
	h.wg.Add(1)
	go h.sweepLoop(ctx)
	return nil
}

// markAllOffline resets worker state left by a previous run: no worker is
// connected to a master that just started. Their accounts stay assigned for
// the disconnect grace, so workers that reconnect keep them.
func (h *Hub) markAllOffline(ctx context.Context) error {
	ws, err := h.st.ListWorkers(ctx)
	if err != nil {
		return fmt.Errorf("hub: listing workers: %w", err)
	}
	now := h.cfg.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range ws {
		if w.Status == protocol.WorkerStatusOffline {
			continue
		}
		// Known but not connected: give it the grace period to come back.
		h.workers[w.ID] = &workerState{
			id: w.ID, tokenID: w.TokenID, capabilities: w.Capabilities,
			maxAccounts: w.MaxAccounts, disconnectedAt: now, online: true,
		}
	}
	return nil
}

// Shutdown stops the loop and closes every socket.
func (h *Hub) Shutdown(ctx context.Context) error {
	if h.cancel != nil {
		h.cancel()
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	closed := make(chan struct{})
	h.io.Close(func(error) { close(closed) })
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("hub: waiting for loops: %w", ctx.Err())
	}
	select {
	case <-closed:
	case <-ctx.Done():
	}
	return nil
}

// recoverGoroutine logs a panic of a hub goroutine instead of letting it
// take the master down.
func (h *Hub) recoverGoroutine(what string) {
	if r := recover(); r != nil {
		h.log.Error("recovered panic", "in", what, "panic", r, "stack", string(debug.Stack()))
	}
}

// emit sends msg to one socket and, when the sender asked for a Socket.IO
// acknowledgement, calls it with the same envelope.
func emit(s *socket.Socket, msg protocol.Message, ack socket.Ack) {
	v, err := toWire(msg)
	if err != nil {
		return
	}
	_ = s.Emit(protocol.SocketEvent, v)
	if ack != nil {
		ack([]any{v}, nil)
	}
}

// emitTo sends msg to every socket in the rooms.
func (h *Hub) emitTo(msg protocol.Message, rooms ...string) {
	if len(rooms) == 0 {
		return
	}
	v, err := toWire(msg)
	if err != nil {
		h.log.Error("encoding outgoing message", "type", msg.Type, "err", err)
		return
	}
	rs := make([]socket.Room, len(rooms))
	for i, r := range rooms {
		rs[i] = socket.Room(r)
	}
	_ = h.io.To(rs...).Emit(protocol.SocketEvent, v)
}

// toWire turns an outgoing envelope into the plain map the Socket.IO
// encoder writes as JSON; the encoder does not read struct tags.
func toWire(msg protocol.Message) (map[string]any, error) {
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", msg.Type, err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("re-decoding %s: %w", msg.Type, err)
	}
	return v, nil
}

// workerRoom and userRoom name the rooms peers are addressed through.
func workerRoom(id string) string { return "worker:" + id }
func userRoom(id string) string   { return "user:" + id }
