// Package testworker is enough of an appliance for tests of the master's
// other side: a bare Socket.IO peer (see siotest) that registers with an
// enrollment token, acknowledges every task assignment by itself, as a real
// appliance would, and hands every other message to the test.
package testworker

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/internal/siotest"
	"github.com/tidewatch/tidewatch/protocol"
)

// queueSize is how many unread messages a worker holds before its reader
// waits for the test.
const queueSize = 256

// Worker is a registered worker on one websocket.
type Worker struct {
	peer *siotest.Peer
	msgs chan map[string]any
}

// Dial connects to base (http://host:port) with the enrollment token
// secret, registers as reg and waits up to timeout for the master's ack.
// The connection closes in tb's cleanup.
func Dial(tb testing.TB, base, secret string, reg protocol.WorkerRegister, timeout time.Duration) *Worker {
	tb.Helper()
	p, err := siotest.Dial(base, map[string]any{"token": secret})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = p.Close() })
	w := &Worker{peer: p, msgs: make(chan map[string]any, queueSize)}
	go w.read()
	w.Send(tb, protocol.TypeWorkerRegister, reg)
	w.Await(tb, protocol.TypeWorkerRegisterAck, timeout)
	return w
}

// read acks task assignments and queues every other message until the
// connection closes; an unacked assignment would make the master move the
// account away in the middle of a test.
func (w *Worker) read() {
	defer close(w.msgs)
	for m := range w.peer.Msgs {
		if m["type"] == protocol.TypeTaskAssign {
			id, _ := siotest.Payload(m)["account_id"].(string)
			_ = w.peer.Send(protocol.TypeTaskAssignAck, protocol.TaskAssignAck{Success: true, AccountID: id})
			continue
		}
		w.msgs <- m
	}
}

// Send emits one envelope of type typ or fails tb.
func (w *Worker) Send(tb testing.TB, typ string, payload any) {
	tb.Helper()
	require.NoError(tb, w.peer.Send(typ, payload))
}

// Await returns the next message of type typ, skipping others; an error
// answer on the way, a closed connection or no such message within timeout
// fails tb.
func (w *Worker) Await(tb testing.TB, typ string, timeout time.Duration) map[string]any {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-w.msgs:
			require.True(tb, ok, "worker connection closed waiting for %s", typ)
			if m["type"] == typ {
				return m
			}
			if s, _ := m["type"].(string); strings.HasSuffix(s, ":error") {
				tb.Fatalf("waiting for %s: got %v", typ, m)
			}
		case <-deadline:
			tb.Fatalf("no %s within %s", typ, timeout)
		}
	}
}
