package sioconn

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/protocol"
)

func TestSocketURL(t *testing.T) {
	tests := []struct {
		in         string
		wantOrigin string
		wantPath   string
		wantErr    string
	}{
		{in: "http://127.0.0.1:7600", wantOrigin: "http://127.0.0.1:7600", wantPath: "/socket.io"},
		{in: "https://example.org/tidewatch/", wantOrigin: "https://example.org", wantPath: "/tidewatch/socket.io"},
		{in: "wss://example.org/tw?x=1", wantOrigin: "wss://example.org", wantPath: "/tw/socket.io"},
		{in: "ftp://example.org", wantErr: "scheme"},
		{in: "http://", wantErr: "no host"},
		{in: "http://bob:secret@exa mple.org", wantErr: "parsing"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			origin, path, err := SocketURL(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), "secret", "an error never repeats a password")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantOrigin, origin)
			assert.Equal(t, tt.wantPath, path)
		})
	}
}

func TestRedactURL(t *testing.T) {
	assert.Equal(t, "https://example.org/tw", RedactURL("https://bob:secret@example.org/tw?token=secret#frag"))
	assert.Equal(t, "invalid", RedactURL("http://[::1"))
}

func TestWireRoundTrip(t *testing.T) {
	msg := protocol.NewMessage(protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{WorkerID: "w-1"}, time.Unix(1700000000, 0), "req-1")
	v, err := toWire(msg)
	require.NoError(t, err)
	assert.Equal(t, protocol.TypeWorkerHeartbeat, v["type"], "keys follow the JSON tags")
	assert.Equal(t, "req-1", v["requestId"])

	for name, in := range map[string]any{"decoded map": v, "JSON string": `{"type":"` + protocol.TypeWorkerHeartbeat + `"}`} {
		t.Run(name, func(t *testing.T) {
			raw, err := rawJSON(in)
			require.NoError(t, err)
			env, _, perr := protocol.Decode(raw)
			assert.Equal(t, protocol.TypeWorkerHeartbeat, env.Type, "decode error: %v", perr)
		})
	}
	_, err = rawJSON(func() {})
	assert.Error(t, err, "a value JSON cannot hold")
}
