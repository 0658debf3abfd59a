package link_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/appliance/link"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// fakeMaster is a bare Socket.IO server that answers worker:register with
// a task assignment sent before the ack, and never answers heartbeats.
type fakeMaster struct {
	url string
	mu  sync.Mutex
	// registers counts registrations.
	registers int
}

// startFakeMaster serves a fakeMaster on 127.0.0.1.
func startFakeMaster(t *testing.T) *fakeMaster {
	t.Helper()
	fm := &fakeMaster{}
	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	io := socket.NewServer(nil, opts)
	require.NoError(t, io.On("connection", func(args ...any) {
		s := args[0].(*socket.Socket)
		_ = s.On(protocol.SocketEvent, func(args ...any) {
			raw, _ := json.Marshal(args[0])
			env, _, perr := protocol.Decode(raw)
			if perr != nil || env.Type != protocol.TypeWorkerRegister {
				return // heartbeats go unanswered
			}
			fm.mu.Lock()
			fm.registers++
			fm.mu.Unlock()
			emitWire(s, protocol.NewMessage(protocol.TypeTaskAssign, protocol.TaskAssign{
				AccountID: "acc-early", Platform: protocol.PlatformDouyin}, time.Now(), ""))
			emitWire(s, protocol.NewMessage(protocol.TypeWorkerRegisterAck, protocol.WorkerRegisterAck{Success: true},
				time.Now(), env.RequestID))
		})
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io.ServeHandler(opts))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		io.Close(nil)
		_ = srv.Shutdown(ctx)
	})
	fm.url = "http://" + ln.Addr().String()
	return fm
}

// emitWire sends an envelope as the plain map the encoder writes.
func emitWire(s *socket.Socket, msg protocol.Message) {
	b, _ := json.Marshal(msg)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	_ = s.Emit(protocol.SocketEvent, v)
}

// registrations returns the number of registrations seen.
func (fm *fakeMaster) registrations() int {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return fm.registers
}

// orderRecorder records the order of handler calls.
type orderRecorder struct {
	recorder
	omu   sync.Mutex
	order []string
}

// Registered implements link.Handler.
func (r *orderRecorder) Registered(ctx context.Context, ack *protocol.WorkerRegisterAck) {
	r.recorder.Registered(ctx, ack)
	r.omu.Lock()
	defer r.omu.Unlock()
	r.order = append(r.order, "registered")
}

// Received implements link.Handler.
func (r *orderRecorder) Received(ctx context.Context, env protocol.Envelope, p protocol.Validator) {
	r.recorder.Received(ctx, env, p)
	r.omu.Lock()
	defer r.omu.Unlock()
	r.order = append(r.order, env.Type)
}

// calls returns the recorded order.
func (r *orderRecorder) calls() []string {
	r.omu.Lock()
	defer r.omu.Unlock()
	return append([]string(nil), r.order...)
}

func TestLink_ackFirstThenEarlyMessages(t *testing.T) {
	fm := startFakeMaster(t)
	rec := &orderRecorder{}
	newLink(t, fm.url, "tok", "w-order", rec)
	require.Eventually(t, func() bool { return len(rec.calls()) >= 2 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, []string{"registered", protocol.TypeTaskAssign}, rec.calls()[:2],
		"an assignment that overtook the register ack must be handled after it")
}

func TestLink_silentMasterIsDropped(t *testing.T) {
	fm := startFakeMaster(t)
	rec := &orderRecorder{}
	// Heartbeats every 200 ms go unanswered: after 3 of them plus the
	// connect timeout the link gives up on the connection and registers
	// again.
	l := newLink(t, fm.url, "tok", "w-silent", rec)
	require.Eventually(t, func() bool { return fm.registrations() >= 2 }, waitFor, 20*time.Millisecond,
		"a silent connection was never dropped")
	assert.Eventually(t, func() bool { return l.Status().State == link.StateConnected }, waitFor, 20*time.Millisecond)
}
