package client_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/internal/siotest"
	"github.com/tidewatch/tidewatch/internal/testmaster"
	"github.com/tidewatch/tidewatch/internal/testworker"
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
	m       *testmaster.Master
	url     string
	user    store.User
	token   string
	account store.Account
	worker  *testworker.Worker
	seq     int
}

// newEnv starts a master in a temporary data directory.
func newEnv(t *testing.T) *env {
	t.Helper()
	m := testmaster.Start(t, &testmaster.Config{
		Hub: hub.Config{SweepInterval: 50 * time.Millisecond}, LaxShutdown: true,
	})
	e := &env{m: m, url: m.URL}
	e.user, e.token = e.newUser(t, "alice", false)
	e.account = m.Account(t, store.Account{
		OwnerID: e.user.ID, Platform: protocol.PlatformDouyin, PlatformAccountID: "dy123456", Name: "我的抖音账号",
		MonitorInterval: 30, Status: protocol.AccountStatusActive,
	}, []byte("sessionid=test"))
	e.worker = testworker.Dial(t, e.url, m.Token(t, "test worker"), protocol.WorkerRegister{
		WorkerID: "worker-001", Host: "127.0.0.1", Version: "test", Capabilities: []string{protocol.PlatformDouyin}, MaxAccounts: 10,
	}, waitFor)
	return e
}

// newUser creates a user with testPassword and returns it with a token.
func (e *env) newUser(t *testing.T, name string, admin bool) (store.User, string) {
	t.Helper()
	u := e.m.User(t, name, testPassword, admin)
	return u, e.m.JWT(t, u)
}

// detect reports a new comment through the worker and waits for the
// master's ack, so the notification exists when it returns. It returns the
// comment's text.
func (e *env) detect(t *testing.T) string {
	t.Helper()
	e.seq++
	text := fmt.Sprintf("comment %d", e.seq)
	e.worker.Send(t, protocol.TypeMessageDetected, protocol.MessageDetected{
		WorkerID: "worker-001", AccountID: e.account.ID, MessageType: protocol.MessageTypeComment,
		Data: protocol.MessageData{
			ID: fmt.Sprintf("cmt-%d", e.seq), PlatformCommentID: protocol.ID(fmt.Sprintf("7%d", e.seq)),
			Content: text, AuthorName: "用户B", AuthorID: "u1", PostID: "v1", PostTitle: "我的最新视频",
			CreatedAt: protocol.TimestampOf(time.Now()),
		},
	})
	ack := siotest.Payload(e.worker.Await(t, protocol.TypeMessageAck, waitFor))
	require.Equal(t, fmt.Sprintf("cmt-%d", e.seq), ack["message_id"])
	return "用户B: " + text
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
