package sioconn_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/internal/sioconn"
	"github.com/tidewatch/tidewatch/internal/testmaster"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// waitFor bounds every wait for something the master or the connection
// does; it is far longer than any timeout under test.
const waitFor = 10 * time.Second

// startMaster starts a master that the test's cleanup stops.
func startMaster(t *testing.T) *testmaster.Master {
	t.Helper()
	return testmaster.Start(t, &testmaster.Config{Hub: testmaster.QuickHub(), ShutdownTimeout: waitFor})
}

// dial connects to m and closes the connection in the test's cleanup.
func dial(t *testing.T, cfg *sioconn.Config) *sioconn.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := sioconn.Dial(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// register sends worker:register without a token in the payload, so the
// master can only have it from the handshake.
func register(t *testing.T, c *sioconn.Conn, workerID, reqID string) {
	t.Helper()
	reg := protocol.WorkerRegister{WorkerID: workerID, Capabilities: []string{protocol.PlatformDouyin}, MaxAccounts: 1}
	require.NoError(t, c.Send(protocol.NewMessage(protocol.TypeWorkerRegister, reg, time.Now(), reqID)))
}

// next returns the next received message of type typ, skipping others.
func next(t *testing.T, c *sioconn.Conn, typ string) (protocol.Envelope, protocol.Validator) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case raw := <-c.Inbox():
			env, payload, perr := protocol.Decode(raw)
			require.Nil(t, perr, "undecodable message %s", raw)
			if env.Type == typ {
				return env, payload
			}
		case <-c.Done():
			t.Fatalf("connection ended waiting for %s: %s", typ, c.CloseReason())
		case <-deadline:
			t.Fatalf("no %s within %s", typ, waitFor)
		}
	}
}

func TestDial_roundTripAndHandshakeAuth(t *testing.T) {
	m := startMaster(t)
	tests := []struct {
		name     string
		auth     map[string]any
		wantType string
		wantCode protocol.Code
	}{
		{name: "token in handshake", auth: map[string]any{"token": m.Token(t, t.Name())}, wantType: protocol.TypeWorkerRegisterAck},
		{name: "wrong token", auth: map[string]any{"token": "wrong"},
			wantType: protocol.ErrorType(protocol.TypeWorkerRegister), wantCode: protocol.ErrAuthFailed},
		{name: "no auth", wantType: protocol.ErrorType(protocol.TypeWorkerRegister), wantCode: protocol.ErrAuthFailed},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, &sioconn.Config{URL: m.URL, Auth: tc.auth, Timeout: 2 * time.Second})
			reqID := fmt.Sprintf("req-%d", i)
			register(t, c, "w-roundtrip", reqID)
			env, payload := next(t, c, tc.wantType)
			assert.Equal(t, reqID, env.RequestID, "the answer carries the request id that was sent")
			switch p := payload.(type) {
			case *protocol.WorkerRegisterAck:
				assert.True(t, p.Success)
			case *protocol.ErrorPayload:
				assert.Equal(t, tc.wantCode, p.ErrorCode)
			default:
				t.Fatalf("unexpected payload %T", payload)
			}
			select {
			case <-c.Done():
				t.Fatalf("connection ended: %s", c.CloseReason())
			default:
			}
			assert.Empty(t, c.CloseReason(), "no close reason while open")
		})
	}
}

func TestDial_badURL(t *testing.T) {
	ctx := context.Background()
	for _, raw := range []string{"ftp://127.0.0.1:1", "http://", "://nope"} {
		_, err := sioconn.Dial(ctx, &sioconn.Config{URL: raw, Timeout: time.Second})
		assert.Error(t, err, raw)
		var se *sioconn.StepError
		assert.NotErrorAs(t, err, &se, "a bad URL is not a connection failure: %s", raw)
	}
}

func TestDial_unreachable(t *testing.T) {
	// A port that was just free: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	_, err = sioconn.Dial(context.Background(), &sioconn.Config{URL: "http://" + addr, Timeout: waitFor})
	var se *sioconn.StepError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, sioconn.StepReach, se.Step)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED,
		"a refused connection is told as such, not as a timeout")
}

// stallingListener accepts TCP connections and never answers.
func stallingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// bareServer serves a Socket.IO server whose namespace middleware is mw.
func bareServer(t *testing.T, mw func(*socket.Socket, func(*socket.ExtendedError))) string {
	t.Helper()
	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	io := socket.NewServer(nil, opts)
	io.Use(mw)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io.ServeHandler(opts))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: waitFor}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		io.Close(nil)
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

func TestDial_failedSteps(t *testing.T) {
	// release lets the stalling middleware go when the test ends.
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stallNamespace := bareServer(t, func(_ *socket.Socket, next func(*socket.ExtendedError)) {
		<-release
		next(nil)
	})
	refuseNamespace := bareServer(t, func(_ *socket.Socket, next func(*socket.ExtendedError)) {
		next(socket.NewExtendedError("unauthorized", map[string]any{"code": "test"}))
	})
	tests := []struct {
		name     string
		url      string
		wantStep string
		wantMsg  string
	}{
		{"engine never opens", stallingListener(t), sioconn.StepOpen, "no answer within"},
		{"namespace never answers", stallNamespace, sioconn.StepConnect, "no answer within"},
		{"namespace refused", refuseNamespace, sioconn.StepConnect, "unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The context outlives the step timeout by far: the step
			// timeout, not the context, must end the attempt.
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			_, err := sioconn.Dial(ctx, &sioconn.Config{URL: tc.url, Timeout: 300 * time.Millisecond})
			var se *sioconn.StepError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.wantStep, se.Step)
			assert.ErrorContains(t, err, tc.wantMsg)
			assert.NoError(t, ctx.Err())
		})
	}
	t.Run("context ends first", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := sioconn.Dial(ctx, &sioconn.Config{URL: stallNamespace, Timeout: waitFor})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestConn_masterGoneClosesDone(t *testing.T) {
	m := startMaster(t)
	c := dial(t, &sioconn.Config{URL: m.URL, Auth: map[string]any{"token": m.Token(t, t.Name())}, Timeout: 2 * time.Second})
	register(t, c, "w-gone", "req-gone")
	next(t, c, protocol.TypeWorkerRegisterAck)

	m.Stop(t)
	select {
	case <-c.Done():
	case <-time.After(waitFor):
		t.Fatal("Done was not closed after the master went away")
	}
	assert.NotEmpty(t, c.CloseReason())
	assert.False(t, c.ClosedLocally())
	assert.ErrorIs(t, c.Send(protocol.NewMessage(protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{}, time.Now(), "")),
		sioconn.ErrNotConnected)
}

func TestConn_close(t *testing.T) {
	m := startMaster(t)
	c := dial(t, &sioconn.Config{URL: m.URL, Timeout: 2 * time.Second, CloseReason: "closed by the test"})
	c.Close()
	select {
	case <-c.Done():
	default:
		t.Fatal("Done is not closed after Close")
	}
	assert.Equal(t, "closed by the test", c.CloseReason())
	assert.True(t, c.ClosedLocally())
	assert.ErrorIs(t, c.Send(protocol.NewMessage(protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{}, time.Now(), "")),
		sioconn.ErrNotConnected)
	assert.NotPanics(t, c.Close, "Close is safe to call twice")
	assert.Equal(t, "closed by the test", c.CloseReason(), "the first reason stays")
}
