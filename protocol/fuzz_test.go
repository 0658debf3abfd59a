package protocol

import (
	"encoding/json"
	"testing"
	"time"
)

// timeAt returns the time of Unix second s.
func timeAt(s int64) time.Time { return time.Unix(s, 0) }

// FuzzDecode feeds arbitrary bytes through envelope decoding and payload
// validation: whatever arrives, it must not panic, and whatever it accepts
// must encode again.
func FuzzDecode(f *testing.F) {
	for _, b := range contractExamples(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"type":"worker:message:detected","version":"v1.2","timestamp":"1697000000123","payload":{"data":{"platform_comment_id":1e400}}}`))
	f.Add([]byte(`{"type":"client:sync:request","version":"v1","timestamp":1,"payload":{"cursor":-1,"limit":1e9}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, p, perr := Decode(data)
		if perr != nil {
			if perr.Code == "" || perr.Message == "" {
				t.Fatalf("error without code or message: %#v", perr)
			}
			return
		}
		if p == nil {
			t.Fatal("accepted message without payload")
		}
		if _, err := json.Marshal(NewMessage(env.Type, p, timeAt(int64(env.Timestamp)), env.RequestID)); err != nil {
			t.Fatalf("re-encoding accepted message: %v", err)
		}
	})
}
