package protocol

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contractExamples returns every JSON example of the contract document.
func contractExamples(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "contract", "*.json"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files)
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(tb, err)
		out[filepath.Base(f)] = b
	}
	return out
}

func TestContractExamplesDecode(t *testing.T) {
	for name, b := range contractExamples(t) {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(name, "{original_type}") {
				// The error example's type is a template, not a real type.
				_, perr := DecodeEnvelope(b)
				require.Nil(t, perr)
				return
			}
			env, p, perr := Decode(b)
			require.Nil(t, perr, "%v", perr)
			assert.NotNil(t, p)
			assert.Equal(t, "v1", env.Version)
			assert.Greater(t, int64(env.Timestamp), int64(1e9))
		})
	}
}

func TestDecodeEnvelopeErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantCode Code
		wantMsg  string
		wantType string
		wantReq  string
	}{
		{"not json", `hello`, ErrInvalidPayload, "JSON object", "", ""},
		{"array", `[1,2]`, ErrInvalidPayload, "JSON object", "", ""},
		{"string", `"x"`, ErrInvalidPayload, "JSON object", "", ""},
		{"missing type", `{"version":"v1","payload":{},"timestamp":1}`, ErrInvalidPayload, "type is required", "", ""},
		{"numeric type", `{"type":5,"version":"v1","payload":{},"timestamp":1}`, ErrInvalidPayload, "type must be a string", "", ""},
		{"missing version", `{"type":"client:connect","payload":{},"timestamp":1,"requestId":"r1"}`, ErrInvalidPayload, "version is required", "client:connect", "r1"},
		{"v2", `{"type":"client:connect","version":"v2","payload":{},"timestamp":1}`, ErrUnsupportedVersion, "v2", "client:connect", ""},
		{"bare 1", `{"type":"client:connect","version":"1","payload":{},"timestamp":1}`, ErrUnsupportedVersion, "not supported", "client:connect", ""},
		{"missing timestamp", `{"type":"client:connect","version":"v1","payload":{}}`, ErrInvalidPayload, "timestamp is required", "client:connect", ""},
		{"string timestamp junk", `{"type":"client:connect","version":"v1","payload":{},"timestamp":"soon"}`, ErrInvalidPayload, "not a number", "client:connect", ""},
		{"payload array", `{"type":"client:connect","version":"v1","payload":[],"timestamp":1}`, ErrInvalidPayload, "payload must be a JSON object", "client:connect", ""},
		{"payload missing", `{"type":"client:connect","version":"v1","timestamp":1}`, ErrInvalidPayload, "payload must be a JSON object", "client:connect", ""},
		{"oversize", `{"type":"x","pad":"` + strings.Repeat("a", MaxMessageBytes) + `"}`, ErrInvalidPayload, "limit", "x", ""},
		{"numeric request id kept", `{"type":"client:connect","version":"v9","payload":{},"timestamp":1,"requestId":42}`, ErrUnsupportedVersion, "v9", "client:connect", "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, perr := DecodeEnvelope([]byte(tt.in))
			require.NotNil(t, perr)
			assert.Equal(t, tt.wantCode, perr.Code)
			assert.Contains(t, perr.Message, tt.wantMsg)
			assert.Equal(t, tt.wantType, env.Type)
			assert.Equal(t, tt.wantReq, env.RequestID)
		})
	}
}

func TestVersions(t *testing.T) {
	for _, v := range []string{"v1", "v1.0", "v1.1", "v1.0.3"} {
		assert.Nil(t, CheckVersion(v), v)
	}
	for _, v := range []string{"", "v2", "V1", "1", "v1.", "v1.x", "v10", "v1.1.1.1"} {
		perr := CheckVersion(v)
		if assert.NotNil(t, perr, v) {
			assert.Equal(t, ErrUnsupportedVersion, perr.Code)
		}
	}
}

func TestTimestampNormalisation(t *testing.T) {
	tests := []struct {
		in   string
		want Timestamp
		bad  bool
	}{
		{`1697000000`, 1697000000, false},
		{`1697000000123`, 1697000000, false},
		{`1697000000.9`, 1697000000, false},
		{`"1697000000123"`, 1697000000, false},
		{`null`, 0, false},
		{`0`, 0, false},
		{`-5`, 0, true},
		{`1e300`, 0, true},
		{`"later"`, 0, true},
		{`true`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var ts Timestamp
			err := json.Unmarshal([]byte(tt.in), &ts)
			if tt.bad {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, ts)
		})
	}
	b, err := json.Marshal(Timestamp(1697000000))
	require.NoError(t, err)
	assert.Equal(t, "1697000000", string(b))
	assert.Equal(t, int64(1697000000), NormalizeUnix(1697000000999))
}

func TestIDDecoding(t *testing.T) {
	tests := []struct {
		in   string
		want ID
		bad  bool
	}{
		{`"7300000000000000123"`, "7300000000000000123", false},
		{`123456`, "123456", false},
		{`9007199254740991`, "9007199254740991", false},
		{`9007199254740993`, "", true},
		{`7300000000000000123`, "", true},
		{`1.5`, "", true},
		{`{}`, "", true},
		{`null`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var id ID
			err := json.Unmarshal([]byte(tt.in), &id)
			if tt.bad {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, id)
		})
	}
}

// envelope wraps a payload in a valid v1 envelope.
func envelope(typ, payload string) []byte {
	return []byte(`{"type":"` + typ + `","version":"v1","timestamp":1697000000,"payload":` + payload + `}`)
}

func TestPayloadValidation(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		payload string
		wantMsg string // empty: valid
	}{
		{"register ok", TypeWorkerRegister, `{"worker_id":"w1","capabilities":["douyin"],"max_accounts":3,"extra":true}`, ""},
		{"register no id", TypeWorkerRegister, `{"capabilities":["douyin"],"max_accounts":3}`, "worker_id is required"},
		{"register blank id", TypeWorkerRegister, `{"worker_id":"  ","capabilities":["douyin"]}`, "worker_id is required"},
		{"register no caps", TypeWorkerRegister, `{"worker_id":"w1","max_accounts":3}`, "capabilities"},
		{"register bad port", TypeWorkerRegister, `{"worker_id":"w1","capabilities":["douyin"],"port":70000}`, "port must be between"},
		{"register port string", TypeWorkerRegister, `{"worker_id":"w1","capabilities":["douyin"],"port":"80"}`, "port must be a number"},
		{"register negative max", TypeWorkerRegister, `{"worker_id":"w1","capabilities":["douyin"],"max_accounts":-1}`, "max_accounts"},
		{"heartbeat ok", TypeWorkerHeartbeat, `{"worker_id":"w1","status":"online","active_tasks":2,"memory_usage":150.5,"cpu_usage":25.3}`, ""},
		{"heartbeat bad status", TypeWorkerHeartbeat, `{"worker_id":"w1","status":"sleepy"}`, "status must be one of"},
		{"heartbeat negative cpu", TypeWorkerHeartbeat, `{"worker_id":"w1","status":"online","cpu_usage":-1}`, "cpu_usage"},
		{"detected comment ok", TypeMessageDetected, `{"worker_id":"w","account_id":"a","message_type":"comment","data":{"id":"c1","platform_comment_id":"7300000000000000123","content":"hi","created_at":1697000000123}}`, ""},
		{"detected dm ok", TypeMessageDetected, `{"worker_id":"w","account_id":"a","message_type":"direct_message","data":{"id":"d1","platform_message_id":"7300000000000000999","content":"hi"}}`, ""},
		{"detected bad type", TypeMessageDetected, `{"worker_id":"w","account_id":"a","message_type":"like","data":{"id":"c1"}}`, "message_type must be one of"},
		{"detected no platform id", TypeMessageDetected, `{"worker_id":"w","account_id":"a","message_type":"comment","data":{"id":"c1"}}`, "platform_comment_id is required"},
		{"detected dm no platform id", TypeMessageDetected, `{"worker_id":"w","account_id":"a","message_type":"direct_message","data":{"id":"c1"}}`, "platform_message_id is required"},
		{"detected unsafe numeric id", TypeMessageDetected, `{"worker_id":"w","account_id":"a","message_type":"comment","data":{"id":"c1","platform_comment_id":7300000000000000123}}`, "2^53"},
		{"detected data not object", TypeMessageDetected, `{"worker_id":"w","account_id":"a","message_type":"comment","data":"x"}`, "data must be an object"},
		{"error ok", TypeWorkerError, `{"worker_id":"w","error_type":"rate_limited","account_id":"a","error_message":"slow down"}`, ""},
		{"error bad type", TypeWorkerError, `{"worker_id":"w","error_type":"oops"}`, "error_type must be one of"},
		{"connect ok", TypeClientConnect, `{"device_id":"d","device_type":"ios","device_name":"phone","auth_token":"t"}`, ""},
		{"connect bad device", TypeClientConnect, `{"device_id":"d","device_type":"fridge","auth_token":"t"}`, "device_type must be one of"},
		{"connect no token", TypeClientConnect, `{"device_id":"d","device_type":"ios"}`, "auth_token is required"},
		{"sync ok", TypeSyncRequest, `{"device_id":"d","last_sync_time":1696999000,"cursor":"17"}`, ""},
		{"sync numeric cursor", TypeSyncRequest, `{"device_id":"d","last_sync_time":0,"cursor":17}`, ""},
		{"sync bad cursor", TypeSyncRequest, `{"device_id":"d","cursor":"abc"}`, "cursor"},
		{"read ok", TypeNotificationRead, `{"notification_id":"n1"}`, ""},
		{"read missing", TypeNotificationRead, `{}`, "notification_id is required"},
		{"assign ack ok", TypeTaskAssignAck, `{"success":true,"account_id":"a"}`, ""},
		{"assign ack missing", TypeTaskAssignAck, `{"success":true}`, "account_id is required"},
		{"creds ok", TypeCredentialsUpdate, `{"worker_id":"w","account_id":"a","credentials":"v1.xyz"}`, ""},
		{"unknown type", "worker:dance", `{}`, "unknown message type"},
		{"invalid utf8", TypeNotificationRead, "{\"notification_id\":\"\xff\"}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, perr := Decode(envelope(tt.typ, tt.payload))
			if tt.wantMsg == "" {
				assert.Nil(t, perr)
				return
			}
			require.NotNil(t, perr)
			assert.Equal(t, ErrInvalidPayload, perr.Code)
			assert.Contains(t, perr.Message, tt.wantMsg)
		})
	}
}

func TestDetectedNormalisesMilliseconds(t *testing.T) {
	_, p, perr := Decode(envelope(TypeMessageDetected, `{"worker_id":"w","account_id":"a","message_type":"comment","data":{"id":"c1","platform_comment_id":"1","created_at":1697000000123}}`))
	require.Nil(t, perr)
	md := p.(*MessageDetected)
	assert.Equal(t, Timestamp(1697000000), md.Data.CreatedAt)
	assert.Equal(t, "1", md.Data.PlatformID(md.MessageType))
}

func TestDecodePayloadGeneric(t *testing.T) {
	env, perr := DecodeEnvelope(envelope(TypeNotificationRead, `{"notification_id":"n9"}`))
	require.Nil(t, perr)
	p, perr := DecodePayload[NotificationRead](env)
	require.Nil(t, perr)
	assert.Equal(t, "n9", p.NotificationID)
}

func TestErrorMessageShape(t *testing.T) {
	msg := NewErrorMessage(TypeClientConnect, Errorf(ErrAuthFailed, "bad token"), timeAt(1697000120), "r7")
	b, err := json.Marshal(msg)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, "client:connect:error", got["type"])
	assert.Equal(t, "v1", got["version"])
	assert.Equal(t, "r7", got["requestId"])
	assert.InDelta(t, 1697000120, got["timestamp"], 0)
	payload := got["payload"].(map[string]any)
	assert.Equal(t, false, payload["success"])
	assert.Equal(t, "ERR_AUTH_FAILED", payload["error_code"])
	assert.Equal(t, "bad token", payload["error_message"])
	assert.Equal(t, map[string]any{}, payload["details"])
}

func TestSenderRole(t *testing.T) {
	tests := []struct {
		typ  string
		want Role
		ok   bool
	}{
		{TypeWorkerRegister, RoleWorker, true},
		{TypeMessageDetected, RoleWorker, true},
		{TypeTaskAssignAck, RoleWorker, true},
		{TypeClientConnect, RoleClient, true},
		{TypeNotificationRead, RoleClient, true},
		{TypeNotificationPush, RoleNone, false},
		{"nope", RoleNone, false},
	}
	for _, tt := range tests {
		r, ok := SenderRole(tt.typ)
		assert.Equal(t, tt.want, r, tt.typ)
		assert.Equal(t, tt.ok, ok, tt.typ)
	}
}
