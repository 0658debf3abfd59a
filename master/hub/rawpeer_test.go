package hub_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidewatch/tidewatch/protocol"
)

// rawPeer speaks Engine.IO 4 / Socket.IO 5 over one websocket by hand. The
// benchmarks use it for many connections: it is a goroutine and a socket per
// peer, with none of a full client's reconnection machinery.
type rawPeer struct {
	conn *websocket.Conn
	msgs chan map[string]any
}

// dialRaw opens a websocket to the master and joins the default namespace.
func dialRaw(tb testing.TB, base string, auth map[string]any) *rawPeer {
	tb.Helper()
	u := strings.Replace(base, "http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
	var conn *websocket.Conn
	var err error
	for range 5 {
		conn, _, err = websocket.DefaultDialer.Dial(u, nil)
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("dialing %s: %v", u, err)
	}
	if _, open, err := conn.ReadMessage(); err != nil || len(open) == 0 || open[0] != '0' {
		tb.Fatalf("engine open: %q %v", open, err)
	}
	connect := "40"
	if auth != nil {
		b, _ := json.Marshal(auth)
		connect += string(b)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(connect)); err != nil {
		tb.Fatal(err)
	}
	if _, ok, err := conn.ReadMessage(); err != nil || !strings.HasPrefix(string(ok), "40") {
		tb.Fatalf("namespace connect: %q %v", ok, err)
	}
	p := &rawPeer{conn: conn, msgs: make(chan map[string]any, 1024)}
	go p.read()
	tb.Cleanup(func() { _ = conn.Close() })
	return p
}

// read answers pings and queues "message" events until the socket closes.
func (p *rawPeer) read() {
	defer close(p.msgs)
	for {
		_, b, err := p.conn.ReadMessage()
		if err != nil {
			return
		}
		s := string(b)
		switch {
		case s == "2":
			_ = p.conn.WriteMessage(websocket.TextMessage, []byte("3"))
		case strings.HasPrefix(s, "42"):
			var ev []json.RawMessage
			if json.Unmarshal([]byte(s[2:]), &ev) != nil || len(ev) < 2 {
				continue
			}
			var m map[string]any
			if json.Unmarshal(ev[1], &m) == nil {
				p.msgs <- m
			}
		}
	}
}

// send emits one envelope.
func (p *rawPeer) send(tb testing.TB, typ string, payload any) {
	b, err := json.Marshal([]any{protocol.SocketEvent, protocol.NewMessage(typ, payload, time.Now(), "")})
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.conn.WriteMessage(websocket.TextMessage, append([]byte("42"), b...)); err != nil {
		tb.Fatal(err)
	}
}

// await returns the next message of type typ, skipping others.
func (p *rawPeer) await(tb testing.TB, typ string) map[string]any {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				tb.Fatalf("connection closed waiting for %s", typ)
			}
			if m["type"] == typ {
				return m
			}
			if t, _ := m["type"].(string); strings.HasSuffix(t, ":error") {
				tb.Fatalf("waiting for %s: got %v", typ, m)
			}
		case <-timeout:
			tb.Fatalf("no %s in 30s", typ)
		}
	}
}

// rawWorker registers a worker over a raw peer.
func (tm *testMaster) rawWorker(tb testing.TB, secret, id string) *rawPeer {
	w := dialRaw(tb, tm.url, map[string]any{"token": secret})
	w.send(tb, protocol.TypeWorkerRegister, protocol.WorkerRegister{WorkerID: id, Capabilities: []string{"douyin"}, MaxAccounts: 10})
	w.await(tb, protocol.TypeWorkerRegisterAck)
	return w
}

// rawClient connects a client device over a raw peer.
func (tm *testMaster) rawClient(tb testing.TB, jwt string, n int) *rawPeer {
	c := dialRaw(tb, tm.url, nil)
	c.send(tb, protocol.TypeClientConnect, protocol.ClientConnect{DeviceID: fmt.Sprintf("dev-%d", n), DeviceType: "desktop", AuthToken: jwt})
	c.await(tb, protocol.TypeClientConnectAck)
	return c
}
