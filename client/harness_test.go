package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master"
	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
)

// waitFor bounds every wait of these tests; it is a deadline against hangs,
// not a speed assertion.
const waitFor = 15 * time.Second

// testPassword is the password of every test user.
const testPassword = "correct horse battery"

// env is a real master served on 127.0.0.1 with a user, an account and a
// worker that can report detected messages.
type env struct {
	srv     *master.Server
	url     string
	user    store.User
	token   string
	account store.Account
	worker  *rawWorker
	seq     int
}

// newEnv starts a master in a temporary data directory.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	srv, err := master.New(ctx, &master.Config{
		DataDir: t.TempDir(),
		Listen:  "127.0.0.1:0",
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Hub:     hub.Config{SweepInterval: 50 * time.Millisecond},
	})
	require.NoError(t, err)
	require.NoError(t, srv.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	e := &env{srv: srv, url: "http://" + srv.Addr()}
	e.user, e.token = e.newUser(t, "alice", false)
	e.account, err = srv.Store.CreateAccount(ctx, store.Account{
		OwnerID: e.user.ID, Platform: protocol.PlatformDouyin, PlatformAccountID: "dy123456", Name: "我的抖音账号",
		MonitorInterval: 30, Status: protocol.AccountStatusActive,
	}, []byte("sessionid=test"))
	require.NoError(t, err)
	_, secret, err := srv.Store.CreateWorkerToken(ctx, "test worker")
	require.NoError(t, err)
	e.worker = dialWorker(t, e.url, secret, "worker-001")
	return e
}

// newUser creates a user with testPassword and returns it with a token.
func (e *env) newUser(t *testing.T, name string, admin bool) (store.User, string) {
	t.Helper()
	hash, err := auth.HashPasswordCost(testPassword, 4)
	require.NoError(t, err)
	u, err := e.srv.Store.CreateUser(context.Background(), name, hash, admin)
	require.NoError(t, err)
	tok, _, err := e.srv.Issuer.Issue(u.ID, admin)
	require.NoError(t, err)
	return u, tok
}

// detect reports a new comment through the worker and waits for the
// master's ack, so the notification exists when it returns. It returns the
// comment's text.
func (e *env) detect(t *testing.T) string {
	t.Helper()
	e.seq++
	text := fmt.Sprintf("comment %d", e.seq)
	e.worker.send(t, protocol.TypeMessageDetected, protocol.MessageDetected{
		WorkerID: "worker-001", AccountID: e.account.ID, MessageType: protocol.MessageTypeComment,
		Data: protocol.MessageData{
			ID: fmt.Sprintf("cmt-%d", e.seq), PlatformCommentID: protocol.ID(fmt.Sprintf("7%d", e.seq)),
			Content: text, AuthorName: "用户B", AuthorID: "u1", PostID: "v1", PostTitle: "我的最新视频",
			CreatedAt: protocol.TimestampOf(time.Now()),
		},
	})
	ack := e.worker.await(t, protocol.TypeMessageAck)
	require.Equal(t, fmt.Sprintf("cmt-%d", e.seq), ack["message_id"])
	return "用户B: " + text
}

// rawWorker speaks Engine.IO 4 / Socket.IO 5 over one websocket by hand:
// enough of a worker to register and report detected messages.
type rawWorker struct {
	conn *websocket.Conn
	wmu  sync.Mutex
	msgs chan map[string]any
}

// dialWorker connects and registers a worker with an enrollment token.
func dialWorker(t *testing.T, base, secret, id string) *rawWorker {
	t.Helper()
	u := strings.Replace(base, "http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	require.NoError(t, err)
	_, open, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, len(open) > 0 && open[0] == '0', "engine open: %q", open)
	b, err := json.Marshal(map[string]any{"token": secret})
	require.NoError(t, err)
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, append([]byte("40"), b...)))
	_, ok, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(ok), "40"), "namespace connect: %q", ok)
	w := &rawWorker{conn: conn, msgs: make(chan map[string]any, 256)}
	go w.read()
	t.Cleanup(func() { _ = conn.Close() })
	w.send(t, protocol.TypeWorkerRegister, protocol.WorkerRegister{
		WorkerID: id, Host: "127.0.0.1", Version: "test", Capabilities: []string{protocol.PlatformDouyin}, MaxAccounts: 10,
	})
	w.await(t, protocol.TypeWorkerRegisterAck)
	return w
}

// read answers pings and task assignments and queues the payloads of other
// messages until the socket closes.
func (w *rawWorker) read() {
	defer close(w.msgs)
	for {
		_, b, err := w.conn.ReadMessage()
		if err != nil {
			return
		}
		s := string(b)
		switch {
		case s == "2":
			w.write([]byte("3"))
		case strings.HasPrefix(s, "42"):
			var ev []json.RawMessage
			if json.Unmarshal([]byte(s[2:]), &ev) != nil || len(ev) < 2 {
				continue
			}
			var m struct {
				Type    string         `json:"type"`
				Payload map[string]any `json:"payload"`
			}
			if json.Unmarshal(ev[1], &m) != nil {
				continue
			}
			if m.Type == protocol.TypeTaskAssign {
				id, _ := m.Payload["account_id"].(string)
				_ = w.emit(protocol.TypeTaskAssignAck, protocol.TaskAssignAck{Success: true, AccountID: id})
				continue
			}
			m.Payload["type"] = m.Type
			w.msgs <- m.Payload
		}
	}
}

// write sends one websocket frame.
func (w *rawWorker) write(b []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.conn.WriteMessage(websocket.TextMessage, b)
}

// emit sends one envelope.
func (w *rawWorker) emit(typ string, payload any) error {
	b, err := json.Marshal([]any{protocol.SocketEvent, protocol.NewMessage(typ, payload, time.Now(), "")})
	if err != nil {
		return err
	}
	return w.write(append([]byte("42"), b...))
}

// send emits one envelope or fails the test.
func (w *rawWorker) send(t *testing.T, typ string, payload any) {
	t.Helper()
	require.NoError(t, w.emit(typ, payload))
}

// await returns the payload of the next message of type typ (its "type"
// key added), failing on an error answer.
func (w *rawWorker) await(t *testing.T, typ string) map[string]any {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case m, ok := <-w.msgs:
			require.True(t, ok, "worker connection closed waiting for %s", typ)
			if m["type"] == typ {
				return m
			}
			if s, _ := m["type"].(string); strings.HasSuffix(s, ":error") {
				t.Fatalf("waiting for %s: got %v", typ, m)
			}
		case <-timeout:
			t.Fatalf("no %s within %s", typ, waitFor)
		}
	}
}

// proxy is a TCP relay in front of the master that a test can cut: it
// closes every relayed connection and, while down, every new one.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// newProxy relays 127.0.0.1:random to target ("host:port").
func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	return p
}

// url is the proxy's base URL.
func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

// serve accepts until the listener closes.
func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies one direction and closes both ends when it ends.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// setDown cuts every relayed connection when down, and refuses or accepts
// new ones from now on.
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}
