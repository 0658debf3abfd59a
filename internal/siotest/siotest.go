// Package siotest is a bare Socket.IO 4 peer for tests and load tools: it
// speaks Engine.IO 4 over one websocket by hand, with a goroutine and a
// socket per peer and none of a full client's reconnection machinery, so
// thousands of them fit in a benchmark and none of a client library's
// connect races get in the way of what is under test.
package siotest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidewatch/tidewatch/protocol"
)

// Peer is one connected Socket.IO peer on the default namespace.
type Peer struct {
	conn *websocket.Conn
	wmu  sync.Mutex
	// Msgs receives every "message" envelope, decoded as a generic object.
	Msgs chan map[string]any
}

// Dial opens a websocket to base (http://host:port) and joins the default
// namespace, with auth as the handshake's auth object when not nil.
func Dial(base string, auth map[string]any) (*Peer, error) {
	u := strings.Replace(base, "http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
	var conn *websocket.Conn
	var err error
	for range 5 {
		if conn, _, err = websocket.DefaultDialer.Dial(u, nil); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", u, err)
	}
	if _, open, err := conn.ReadMessage(); err != nil || len(open) == 0 || open[0] != '0' {
		_ = conn.Close()
		return nil, fmt.Errorf("engine open: %q: %v", open, err)
	}
	connect := "40"
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil {
			return nil, fmt.Errorf("encoding auth: %w", err)
		}
		connect += string(b)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(connect)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("namespace connect: %w", err)
	}
	if _, ok, err := conn.ReadMessage(); err != nil || !strings.HasPrefix(string(ok), "40") {
		_ = conn.Close()
		return nil, fmt.Errorf("namespace connect: %q: %v", ok, err)
	}
	p := &Peer{conn: conn, Msgs: make(chan map[string]any, 1024)}
	go p.read()
	return p, nil
}

// Close closes the connection.
func (p *Peer) Close() error { return p.conn.Close() }

// read answers pings and queues "message" events until the socket closes.
func (p *Peer) read() {
	defer close(p.Msgs)
	for {
		_, b, err := p.conn.ReadMessage()
		if err != nil {
			return
		}
		s := string(b)
		switch {
		case s == "2":
			p.write([]byte("3"))
		case strings.HasPrefix(s, "42"):
			var ev []json.RawMessage
			if json.Unmarshal([]byte(s[2:]), &ev) != nil || len(ev) < 2 {
				continue
			}
			var m map[string]any
			if json.Unmarshal(ev[1], &m) == nil {
				p.Msgs <- m
			}
		}
	}
}

// write sends one frame; the reader's pongs and Send may race otherwise.
func (p *Peer) write(b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return p.conn.WriteMessage(websocket.TextMessage, b)
}

// Send emits one envelope of type typ.
func (p *Peer) Send(typ string, payload any) error {
	b, err := json.Marshal([]any{protocol.SocketEvent, protocol.NewMessage(typ, payload, time.Now(), "")})
	if err != nil {
		return fmt.Errorf("encoding %s: %w", typ, err)
	}
	return p.write(append([]byte("42"), b...))
}

// Await returns the next message of type typ, skipping others; an error
// envelope or a closed connection on the way is an error.
func (p *Peer) Await(typ string, timeout time.Duration) (map[string]any, error) {
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-p.Msgs:
			if !ok {
				return nil, fmt.Errorf("connection closed waiting for %s", typ)
			}
			if m["type"] == typ {
				return m, nil
			}
			if t, _ := m["type"].(string); strings.HasSuffix(t, ":error") {
				return nil, fmt.Errorf("waiting for %s: got %v", typ, m)
			}
		case <-deadline:
			return nil, fmt.Errorf("no %s within %s", typ, timeout)
		}
	}
}

// Payload returns an envelope's payload object.
func Payload(m map[string]any) map[string]any {
	p, _ := m["payload"].(map[string]any)
	return p
}
