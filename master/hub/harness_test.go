package hub_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/master/metrics"
	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/zishang520/socket.io/clients/engine/v3/transports"
	sio "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// waitFor is how long a test waits for an expected message.
const waitFor = 5 * time.Second

// testMaster is a hub served on 127.0.0.1 over a real SQLite file.
type testMaster struct {
	st     *store.Store
	hub    *hub.Hub
	issuer *auth.Issuer
	url    string
}

// newTestMaster starts a hub; mutate may shorten its timings.
func newTestMaster(t testing.TB, mutate func(*hub.Config)) *testMaster {
	t.Helper()
	ctx := context.Background()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	st, err := store.Open(ctx, &store.Config{Path: filepath.Join(t.TempDir(), "tw.db"), Key: key, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	issuer := auth.NewIssuer([]byte("0123456789abcdef0123456789abcdef"), time.Hour, nil)
	cfg := &hub.Config{
		Store: st, Issuer: issuer, Metrics: metrics.New(),
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: 50 * time.Millisecond,
		// Test workers send no heartbeats unless a test is about liveness;
		// those tests shorten these.
		LivenessTimeout: time.Minute, DisconnectGrace: time.Minute, AssignAckTimeout: 2 * time.Second,
	}
	if mutate != nil {
		mutate(cfg)
	}
	h, err := hub.New(cfg)
	require.NoError(t, err)
	require.NoError(t, h.Start(ctx))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", h.Handler())
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		_ = srv.Shutdown(ctx)
		_ = st.Close()
	})
	return &testMaster{st: st, hub: h, issuer: issuer, url: "http://" + ln.Addr().String()}
}

// user creates a user and returns it with a client JWT.
func (tm *testMaster) user(t testing.TB, name string, admin bool) (store.User, string) {
	t.Helper()
	u, err := tm.st.CreateUser(context.Background(), name, "$2a$04$invalidinvalidinvalidinvalidinvalidinvalidinvalidinvali", admin)
	require.NoError(t, err)
	tok, _, err := tm.issuer.Issue(u.ID, admin)
	require.NoError(t, err)
	return u, tok
}

// token creates an enrollment token and returns its secret.
func (tm *testMaster) token(t testing.TB, name string) string {
	t.Helper()
	_, secret, err := tm.st.CreateWorkerToken(context.Background(), name)
	require.NoError(t, err)
	return secret
}

// account creates an active douyin account owned by owner.
func (tm *testMaster) account(t testing.TB, owner, platformID string, creds string) store.Account {
	t.Helper()
	a, err := tm.st.CreateAccount(context.Background(), store.Account{
		OwnerID: owner, Platform: protocol.PlatformDouyin, PlatformAccountID: platformID, Name: "acct " + platformID,
		MonitorInterval: 30, Status: protocol.AccountStatusActive,
	}, []byte(creds))
	require.NoError(t, err)
	return a
}

// peer is a Socket.IO client talking to the test master.
type peer struct {
	t    *testing.T
	sock *sio.Socket
	mu   sync.Mutex
	got  []map[string]any
	note chan struct{}
}

// dial connects a new peer; auth may carry a handshake token.
func (tm *testMaster) dial(t *testing.T, auth map[string]any) *peer {
	t.Helper()
	// The Go client has connect races of its own (it can miss the engine's
	// open event, or send CONNECT twice); what is under test here is the
	// master, so a connect that stalls is retried.
	for range 5 {
		if p := tm.tryDial(t, auth); p != nil {
			return p
		}
	}
	t.Fatal("socket did not connect in 5 attempts")
	return nil
}

// tryDial makes one connection attempt.
func (tm *testMaster) tryDial(t *testing.T, auth map[string]any) *peer {
	t.Helper()
	const attempt = 2 * time.Second
	opts := sio.DefaultOptions()
	opts.SetTransports(types.NewSet(transports.WebSocket))
	opts.SetMultiplex(false)
	opts.SetForceNew(true)
	opts.SetReconnection(false)
	opts.SetTimeout(attempt)
	opts.SetAutoConnect(false)
	if auth != nil {
		opts.SetAuth(auth)
	}
	// Open the manager first and only then connect the socket: Connect on
	// a manager still opening can send CONNECT twice.
	mgr := sio.NewManager(tm.url, opts)
	opened := make(chan error, 1)
	mgr.Open(func(err error) { opened <- err })
	select {
	case err := <-opened:
		if err != nil {
			return nil
		}
	case <-time.After(attempt):
		mgr.Engine().Close()
		return nil
	}
	s := mgr.Socket("/", opts)
	p := &peer{t: t, sock: s, note: make(chan struct{}, 1)}
	connected := make(chan struct{})
	var once sync.Once
	_ = s.On("connect", func(...any) { once.Do(func() { close(connected) }) })
	_ = s.On(protocol.SocketEvent, func(args ...any) {
		if len(args) == 0 {
			return
		}
		m, ok := args[0].(map[string]any)
		if !ok {
			return
		}
		p.mu.Lock()
		p.got = append(p.got, m)
		p.mu.Unlock()
		select {
		case p.note <- struct{}{}:
		default:
		}
	})
	s.Connect()
	select {
	case <-connected:
	case <-time.After(attempt):
		s.Disconnect()
		return nil
	}
	t.Cleanup(func() { s.Disconnect() })
	return p
}

// wire encodes an envelope the way a peer sends it.
func wire(t *testing.T, typ string, payload any, requestID string) map[string]any {
	t.Helper()
	b, err := json.Marshal(protocol.NewMessage(typ, payload, time.Now(), requestID))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// send emits an envelope.
func (p *peer) send(typ string, payload any) {
	p.t.Helper()
	require.NoError(p.t, p.sock.Emit(protocol.SocketEvent, wire(p.t, typ, payload, "")))
}

// sendRaw emits anything as the message event.
func (p *peer) sendRaw(v any) {
	p.t.Helper()
	require.NoError(p.t, p.sock.Emit(protocol.SocketEvent, v))
}

// expect waits for the first message of type typ, removes and returns it.
func (p *peer) expect(typ string) map[string]any {
	p.t.Helper()
	m, ok := p.wait(typ, waitFor)
	if !ok {
		p.mu.Lock()
		var seen []any
		for _, g := range p.got {
			seen = append(seen, g["type"])
		}
		p.mu.Unlock()
		p.t.Fatalf("no %s within %s; have %v", typ, waitFor, seen)
	}
	return m
}

// expectNone asserts that no message of type typ arrives within d.
func (p *peer) expectNone(typ string, d time.Duration) {
	p.t.Helper()
	if m, ok := p.wait(typ, d); ok {
		p.t.Fatalf("unexpected %s: %v", typ, m)
	}
}

// wait returns the first message of type typ to arrive within d.
func (p *peer) wait(typ string, d time.Duration) (map[string]any, bool) {
	deadline := time.After(d)
	for {
		p.mu.Lock()
		for i, m := range p.got {
			if m["type"] == typ {
				p.got = append(p.got[:i], p.got[i+1:]...)
				p.mu.Unlock()
				return m, true
			}
		}
		p.mu.Unlock()
		select {
		case <-p.note:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			return nil, false
		}
	}
}

// payload returns an envelope's payload object.
func payload(m map[string]any) map[string]any {
	p, _ := m["payload"].(map[string]any)
	return p
}

// registerWorker connects and registers a worker with the handshake token.
func (tm *testMaster) registerWorker(t *testing.T, secret, id string, maxAccounts int) (*peer, map[string]any) {
	t.Helper()
	w := tm.dial(t, map[string]any{"token": secret})
	w.send(protocol.TypeWorkerRegister, protocol.WorkerRegister{
		WorkerID: id, Host: "127.0.0.1", Port: 7601, Version: "test", Capabilities: []string{"douyin"}, MaxAccounts: maxAccounts,
	})
	return w, payload(w.expect(protocol.TypeWorkerRegisterAck))
}

// connectClient connects a client device with a JWT.
func (tm *testMaster) connectClient(t *testing.T, jwt, device string) (*peer, map[string]any) {
	t.Helper()
	c := tm.dial(t, nil)
	c.send(protocol.TypeClientConnect, protocol.ClientConnect{DeviceID: device, DeviceType: "desktop", DeviceName: device, AuthToken: jwt})
	return c, payload(c.expect(protocol.TypeClientConnectAck))
}

// detected builds a comment detection.
func detected(workerID, accountID, id, platformID, text string) protocol.MessageDetected {
	return protocol.MessageDetected{WorkerID: workerID, AccountID: accountID, MessageType: protocol.MessageTypeComment,
		Data: protocol.MessageData{ID: id, PlatformCommentID: protocol.ID(platformID), Content: text,
			AuthorName: "用户B", AuthorID: "u1", PostID: "v1", PostTitle: "video", CreatedAt: protocol.TimestampOf(time.Now())}}
}
