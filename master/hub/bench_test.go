package hub_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/protocol"
)

// BenchmarkIngest measures detected message → durable commit of message and
// notification → ack, over a real socket, with a window of messages in
// flight as an appliance's outbox resend would have.
func BenchmarkIngest(b *testing.B) {
	tm := newTestMaster(b, benchTimings)
	u, _ := tm.user(b, "alice", false)
	acc := tm.account(b, u.ID, "dy1", `{}`)
	w := tm.rawWorker(b, tm.token(b, "pi"), "w1")
	const window = 32
	b.ReportAllocs()
	start := time.Now()
	sent, acked := 0, 0
	for sent < b.N {
		for sent < b.N && sent-acked < window {
			id := "c" + strconv.Itoa(sent)
			w.send(b, protocol.TypeMessageDetected, detected("w1", acc.ID, id, strconv.Itoa(sent+1), "benchmark comment"))
			sent++
		}
		w.await(b, protocol.TypeMessageAck)
		acked++
	}
	for acked < sent {
		w.await(b, protocol.TypeMessageAck)
		acked++
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkFanOut measures one notification reaching every connected
// device of its user, for 1, 100 and 1000 devices.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			tm := newTestMaster(b, benchTimings)
			u, jwt := tm.user(b, "alice", false)
			acc := tm.account(b, u.ID, "dy1", `{}`)
			w := tm.rawWorker(b, tm.token(b, "pi"), "w1")
			clients := make([]*rawPeer, n)
			for i := range clients {
				clients[i] = tm.rawClient(b, jwt, i)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				w.send(b, protocol.TypeMessageDetected, detected("w1", acc.ID, "f"+strconv.Itoa(i), strconv.Itoa(i+1), "fan-out"))
				for _, c := range clients {
					c.await(b, protocol.TypeNotificationPush)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// benchTimings keeps a benchmark's worker, which sends no heartbeats, from
// being declared offline mid-run.
func benchTimings(c *hub.Config) { c.LivenessTimeout = time.Hour }
