package protocol

import "testing"

// BenchmarkDecodeDetected measures envelope decode plus validation of the
// message the master receives most.
func BenchmarkDecodeDetected(b *testing.B) {
	msg := []byte(`{"type":"worker:message:detected","version":"v1","timestamp":1697000030,"requestId":"r1","payload":{"worker_id":"worker-001","account_id":"acc-001","message_type":"comment","data":{"id":"cmt-001","platform_comment_id":"7300000000000000123","content":"好棒的视频!","author_name":"用户A","author_id":"user123","post_id":"video789","post_title":"我的最新视频","created_at":1697000000}}}`)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, perr := Decode(msg); perr != nil {
			b.Fatal(perr)
		}
	}
}

// BenchmarkDecodeInvalid measures how cheaply garbage is refused.
func BenchmarkDecodeInvalid(b *testing.B) {
	msg := []byte(`{"type":"worker:message:detected","version":"v1","timestamp":1,"payload":{"message_type":"like"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, perr := Decode(msg); perr == nil {
			b.Fatal("accepted")
		}
	}
}
