package hub_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/siotest"
	"github.com/tidewatch/tidewatch/protocol"
)

// rawPeer wraps a bare Socket.IO peer for benchmarks.
type rawPeer struct{ *siotest.Peer }

// dialRaw opens a bare peer or fails the benchmark.
func dialRaw(tb testing.TB, base string, auth map[string]any) *rawPeer {
	tb.Helper()
	p, err := siotest.Dial(base, auth)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return &rawPeer{p}
}

// send emits one envelope.
func (p *rawPeer) send(tb testing.TB, typ string, payload any) {
	if err := p.Send(typ, payload); err != nil {
		tb.Fatal(err)
	}
}

// await returns the next message of type typ.
func (p *rawPeer) await(tb testing.TB, typ string) map[string]any {
	m, err := p.Await(typ, 30*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	return m
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
