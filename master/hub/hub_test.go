package hub_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

func TestRegisterAssignsAccountsWithSealedCredentials(t *testing.T) {
	tm := newTestMaster(t, nil)
	u, _ := tm.user(t, "alice", false)
	a1 := tm.account(t, u.ID, "dy1", `{"cookies":[{"name":"sessionid","value":"s3cr3t-1"}]}`)
	tm.account(t, u.ID, "dy2", `{"cookies":[]}`)
	tm.account(t, u.ID, "dy3", `{"cookies":[]}`)
	secret := tm.token(t, "pi")

	_, ack := tm.registerWorker(t, secret, "worker-001", 2)
	assert.Equal(t, true, ack["success"])
	list := ack["assigned_accounts"].([]any)
	require.Len(t, list, 2, "capacity bounds the assignment")
	var first map[string]any
	for _, x := range list {
		if x.(map[string]any)["id"] == a1.ID {
			first = x.(map[string]any)
		}
	}
	require.NotNil(t, first, "oldest account assigned first")
	assert.Equal(t, "dy1", first["account_id"])
	assert.Equal(t, "douyin", first["platform"])
	assert.InDelta(t, 30, first["monitor_interval"], 0)
	sealed := first["credentials"].(string)
	assert.NotContains(t, sealed, "s3cr3t-1", "credentials travel sealed")
	plain, err := credseal.Open(credseal.DeriveKey(secret), sealed, a1.ID)
	require.NoError(t, err)
	assert.Contains(t, string(plain), "s3cr3t-1")
	_, err = credseal.Open(credseal.DeriveKey(tm.token(t, "other")), sealed, a1.ID)
	assert.Error(t, err, "another appliance's key cannot open them")

	got, err := tm.st.GetAccount(context.Background(), a1.ID)
	require.NoError(t, err)
	assert.Equal(t, "worker-001", got.WorkerID)
}

func TestRegisterAuth(t *testing.T) {
	tm := newTestMaster(t, nil)
	u, _ := tm.user(t, "alice", false)
	tm.account(t, u.ID, "dy1", `{"c":1}`)
	secret := tm.token(t, "pi")
	revoked, revokedSecret, err := tm.st.CreateWorkerToken(context.Background(), "old")
	require.NoError(t, err)
	require.NoError(t, tm.st.RevokeWorkerToken(context.Background(), revoked.ID))

	tests := []struct {
		name      string
		handshake map[string]any
		payload   string
		wantErr   bool
	}{
		{"handshake token", map[string]any{"token": secret}, "", false},
		{"payload token", nil, secret, false},
		{"missing token", nil, "", true},
		{"wrong token", map[string]any{"token": "twk_nope_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "", true},
		{"garbage token", nil, "hello", true},
		{"revoked token", nil, revokedSecret, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tm.dial(t, tt.handshake)
			w.send(protocol.TypeWorkerRegister, protocol.WorkerRegister{
				WorkerID: "w-" + string(rune('a'+i)), Capabilities: []string{"douyin"}, MaxAccounts: 5, AuthToken: tt.payload,
			})
			if !tt.wantErr {
				ack := payload(w.expect(protocol.TypeWorkerRegisterAck))
				assert.Equal(t, true, ack["success"])
				return
			}
			e := payload(w.expect("worker:register:error"))
			assert.Equal(t, "ERR_AUTH_FAILED", e["error_code"])
			assert.Equal(t, false, e["success"])
			assert.NotContains(t, e, "assigned_accounts")
			// Still unauthenticated: worker events are refused.
			w.send(protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{WorkerID: "x", Status: "online"})
			assert.Equal(t, "ERR_AUTH_FAILED", payload(w.expect("worker:heartbeat:error"))["error_code"])
		})
	}
}

func TestRevokedTokenIsRefused(t *testing.T) {
	tm := newTestMaster(t, nil)
	tok, secret, err := tm.st.CreateWorkerToken(context.Background(), "gone")
	require.NoError(t, err)
	require.NoError(t, tm.st.RevokeWorkerToken(context.Background(), tok.ID))
	w := tm.dial(t, map[string]any{"token": secret})
	w.send(protocol.TypeWorkerRegister, protocol.WorkerRegister{WorkerID: "w1", Capabilities: []string{"douyin"}, MaxAccounts: 1})
	assert.Equal(t, "ERR_AUTH_FAILED", payload(w.expect("worker:register:error"))["error_code"])
}

func TestWorkerIDBoundToToken(t *testing.T) {
	tm := newTestMaster(t, nil)
	tm.registerWorker(t, tm.token(t, "a"), "w1", 1)
	w := tm.dial(t, map[string]any{"token": tm.token(t, "b")})
	w.send(protocol.TypeWorkerRegister, protocol.WorkerRegister{WorkerID: "w1", Capabilities: []string{"douyin"}, MaxAccounts: 1})
	e := payload(w.expect("worker:register:error"))
	assert.Equal(t, "ERR_AUTH_FAILED", e["error_code"])
	assert.Contains(t, e["error_message"], "another token")
}

func TestHeartbeat(t *testing.T) {
	tm := newTestMaster(t, nil)
	w, _ := tm.registerWorker(t, tm.token(t, "pi"), "w1", 3)
	depth := 2
	w.send(protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{WorkerID: "w1", Status: "online", ActiveTasks: 1, MemoryUsage: 150.5, CPUUsage: 25.3, OutboxDepth: &depth})
	assert.Equal(t, true, payload(w.expect(protocol.TypeWorkerHeartbeatAck))["success"])
	got, err := tm.st.GetWorker(context.Background(), "w1")
	require.NoError(t, err)
	assert.InDelta(t, 150.5, got.MemoryUsage, 0.01)
	assert.InDelta(t, 25.3, got.CPUUsage, 0.01)
	assert.Equal(t, 1, got.ActiveTasks)
	assert.Contains(t, string(got.Extra), "outbox_depth")
	live := tm.hub.WorkerLive("w1")
	require.Len(t, live.History, 1)
	assert.True(t, live.Online)

	w.send(protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{WorkerID: "w1", Status: "busy", ActiveTasks: 3})
	assert.Equal(t, true, payload(w.expect(protocol.TypeWorkerHeartbeatAck))["success"])
	got, err = tm.st.GetWorker(context.Background(), "w1")
	require.NoError(t, err)
	assert.Equal(t, "busy", got.Status)

	w.send(protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{WorkerID: "someone-else", Status: "online"})
	assert.Equal(t, "ERR_INVALID_PAYLOAD", payload(w.expect("worker:heartbeat:error"))["error_code"])
	w.send(protocol.TypeWorkerHeartbeat, map[string]any{"worker_id": "w1", "status": "dancing"})
	assert.Contains(t, payload(w.expect("worker:heartbeat:error"))["error_message"], "status must be one of")
}

func TestDetectedStoresAcksAndPushesToAllowedDevicesOnly(t *testing.T) {
	tm := newTestMaster(t, nil)
	alice, aliceJWT := tm.user(t, "alice", false)
	_, bobJWT := tm.user(t, "bob", false)
	_, adminJWT := tm.user(t, "root", true)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	w, _ := tm.registerWorker(t, tm.token(t, "pi"), "w1", 5)

	clientA, _ := tm.connectClient(t, aliceJWT, "alice-laptop")
	clientB, _ := tm.connectClient(t, aliceJWT, "alice-phone")
	bob, _ := tm.connectClient(t, bobJWT, "bob-phone")
	admin, _ := tm.connectClient(t, adminJWT, "admin-desk")

	w.send(protocol.TypeMessageDetected, detected("w1", acc.ID, "cmt-001", "7300000000000000123", "好棒的视频!"))
	ack := payload(w.expect(protocol.TypeMessageAck))
	assert.Equal(t, true, ack["success"])
	assert.Equal(t, "cmt-001", ack["message_id"])

	for _, c := range []*peer{clientA, clientB, admin} {
		p := payload(c.expect(protocol.TypeNotificationPush))
		assert.Equal(t, "comment", p["type"])
		assert.Equal(t, acc.ID, p["account_id"])
		assert.Equal(t, acc.Name, p["account_name"])
		assert.Equal(t, "新评论", p["title"])
		assert.Equal(t, "用户B: 好棒的视频!", p["content"])
		assert.Equal(t, "cmt-001", p["related_id"])
		assert.NotEmpty(t, p["id"])
		assert.Greater(t, p["created_at"], float64(1e9))
	}
	bob.expectNone(protocol.TypeNotificationPush, 300*time.Millisecond)

	// The same item again (a resend after a lost ack): acked, stored once,
	// pushed to nobody.
	w.send(protocol.TypeMessageDetected, detected("w1", acc.ID, "cmt-001", "7300000000000000123", "好棒的视频!"))
	assert.Equal(t, true, payload(w.expect(protocol.TypeMessageAck))["duplicate"])
	clientA.expectNone(protocol.TypeNotificationPush, 300*time.Millisecond)

	// Unknown account.
	w.send(protocol.TypeMessageDetected, detected("w1", "acc-nope", "cmt-9", "9", "x"))
	assert.Equal(t, "ERR_ACCOUNT_NOT_FOUND", payload(w.expect("worker:message:detected:error"))["error_code"])

	// Direct message.
	w.send(protocol.TypeMessageDetected, protocol.MessageDetected{WorkerID: "w1", AccountID: acc.ID, MessageType: "direct_message",
		Data: protocol.MessageData{ID: "dm-1", PlatformMessageID: "7400000000000000001", Content: "你好", SenderName: "粉丝C", SenderID: "42", ConversationID: "0:1:1:42"}})
	payload(w.expect(protocol.TypeMessageAck))
	p := payload(clientB.expect(protocol.TypeNotificationPush))
	assert.Equal(t, "direct_message", p["type"])
	assert.Equal(t, "新私信", p["title"])
	assert.Equal(t, "粉丝C: 你好", p["content"])
}

func TestConcurrentDuplicateDetectionsNotifyOnce(t *testing.T) {
	tm := newTestMaster(t, nil)
	alice, jwt := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	secret := tm.token(t, "pi")
	w, _ := tm.registerWorker(t, secret, "w1", 5)
	c, _ := tm.connectClient(t, jwt, "laptop")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			w.send(protocol.TypeMessageDetected, detected("w1", acc.ID, "cmt-x", "123", "same"))
		})
	}
	wg.Wait()
	for range 8 {
		w.expect(protocol.TypeMessageAck)
	}
	c.expect(protocol.TypeNotificationPush)
	c.expectNone(protocol.TypeNotificationPush, 500*time.Millisecond)
}

func TestWorkerErrorUpdatesAccount(t *testing.T) {
	tests := []struct {
		name       string
		errorType  string
		repeat     int
		wantStatus string
	}{
		{"auth failed", "auth_failed", 1, "error"},
		{"rate limited", "rate_limited", 1, "rate_limited"},
		{"network errors past threshold", "network_error", 3, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := newTestMaster(t, nil)
			alice, jwt := tm.user(t, "alice", false)
			acc := tm.account(t, alice.ID, "dy1", `{}`)
			w, _ := tm.registerWorker(t, tm.token(t, "pi"), "w1", 5)
			c, _ := tm.connectClient(t, jwt, "laptop")
			for i := range tt.repeat {
				w.send(protocol.TypeWorkerError, protocol.WorkerError{WorkerID: "w1", ErrorType: tt.errorType, AccountID: acc.ID,
					ErrorMessage: "账户凭证已过期", Details: protocol.ErrorDetails{Platform: "douyin", RetryCount: i}})
				if i < tt.repeat-1 {
					c.expectNone(protocol.TypeAccountUpdate, 200*time.Millisecond)
				}
			}
			p := payload(c.expect(protocol.TypeAccountUpdate))
			assert.Equal(t, acc.ID, p["account_id"])
			assert.Equal(t, tt.wantStatus, p["status"])
			assert.Equal(t, "账户凭证已过期", p["error_message"])
			got, err := tm.st.GetAccount(context.Background(), acc.ID)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, got.Status)
		})
	}
}

func TestRateLimitedAccountRecoversOnDelivery(t *testing.T) {
	tm := newTestMaster(t, nil)
	alice, jwt := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	w, _ := tm.registerWorker(t, tm.token(t, "pi"), "w1", 5)
	c, _ := tm.connectClient(t, jwt, "laptop")
	w.send(protocol.TypeWorkerError, protocol.WorkerError{WorkerID: "w1", ErrorType: "rate_limited", AccountID: acc.ID})
	assert.Equal(t, "rate_limited", payload(c.expect(protocol.TypeAccountUpdate))["status"])
	w.send(protocol.TypeMessageDetected, detected("w1", acc.ID, "c1", "1", "hi"))
	assert.Equal(t, "active", payload(c.expect(protocol.TypeAccountUpdate))["status"])
}

func TestSecondConnectionReplacesFirst(t *testing.T) {
	tm := newTestMaster(t, nil)
	secret := tm.token(t, "pi")
	first, _ := tm.registerWorker(t, secret, "w1", 1)
	second, _ := tm.registerWorker(t, secret, "w1", 1)
	// The master closed the first connection: nothing sent on it is
	// answered any more (whether or not the client library noticed yet).
	first.send(protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{WorkerID: "w1", Status: "online"})
	first.expectNone(protocol.TypeWorkerHeartbeatAck, 500*time.Millisecond)
	second.send(protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{WorkerID: "w1", Status: "online"})
	second.expect(protocol.TypeWorkerHeartbeatAck)
	assert.True(t, tm.hub.WorkerLive("w1").Connected)
}

func TestSilentWorkerFailsOver(t *testing.T) {
	tm := newTestMaster(t, func(c *hub.Config) { c.LivenessTimeout = 1500 * time.Millisecond })
	alice, jwt := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{"sessionid":"abc"}`)
	s1, s2 := tm.token(t, "pi1"), tm.token(t, "pi2")
	w1, ack1 := tm.registerWorker(t, s1, "w1", 5)
	require.Len(t, ack1["assigned_accounts"], 1)
	// w1 stays alive until everyone is in place, however slow the machine.
	stopW1 := keepAlive(w1, "w1")
	w2, ack2 := tm.registerWorker(t, s2, "w2", 5)
	defer keepAlive(w2, "w2")()
	require.Len(t, ack2["assigned_accounts"], 0)
	c, _ := tm.connectClient(t, jwt, "laptop")

	// Let w1 go silent.
	stopW1()
	assign := payload(w2.expect(protocol.TypeTaskAssign))
	assert.Equal(t, acc.ID, assign["account_id"])
	plain, err := credseal.Open(credseal.DeriveKey(s2), assign["account_credentials"].(string), acc.ID)
	require.NoError(t, err)
	assert.Contains(t, string(plain), "abc")
	w2.send(protocol.TypeTaskAssignAck, protocol.TaskAssignAck{Success: true, AccountID: acc.ID})
	upd := payload(c.expect(protocol.TypeAccountUpdate))
	assert.Equal(t, "w2", upd["worker_id"])
	got, err := tm.st.GetAccount(context.Background(), acc.ID)
	require.NoError(t, err)
	assert.Equal(t, "w2", got.WorkerID)
	w1Row, err := tm.st.GetWorker(context.Background(), "w1")
	require.NoError(t, err)
	assert.Equal(t, "offline", w1Row.Status)
}

func TestDisconnectedWorkerWithNoReplacementLeavesAccountUnassigned(t *testing.T) {
	tm := newTestMaster(t, func(c *hub.Config) { c.DisconnectGrace = 300 * time.Millisecond })
	alice, jwt := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	w, _ := tm.registerWorker(t, tm.token(t, "pi"), "w1", 5)
	c, _ := tm.connectClient(t, jwt, "laptop")
	w.sock.Disconnect()
	upd := payload(c.expect(protocol.TypeAccountUpdate))
	assert.Equal(t, acc.ID, upd["account_id"])
	assert.Equal(t, "unassigned", upd["status"])
}

func TestReconnectWithinGraceKeepsAccounts(t *testing.T) {
	tm := newTestMaster(t, func(c *hub.Config) { c.DisconnectGrace = 10 * time.Second })
	alice, _ := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	secret := tm.token(t, "pi")
	w, _ := tm.registerWorker(t, secret, "w1", 5)
	w.sock.Disconnect()
	_, ack := tm.registerWorker(t, secret, "w1", 5)
	list := ack["assigned_accounts"].([]any)
	require.Len(t, list, 1, "sticky assignment")
	assert.Equal(t, acc.ID, list[0].(map[string]any)["id"])
}

func TestUnackedAssignmentIsRetriedThenMoved(t *testing.T) {
	tm := newTestMaster(t, func(c *hub.Config) {
		c.AssignAckTimeout = 200 * time.Millisecond
		c.AssignRetries = 1
		c.LivenessTimeout = time.Minute
	})
	alice, _ := tm.user(t, "alice", false)
	w1, _ := tm.registerWorker(t, tm.token(t, "pi1"), "w1", 5)
	w2, _ := tm.registerWorker(t, tm.token(t, "pi2"), "w2", 5)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	// Both are empty; ties go to the lower id, so w1 gets it first.
	require.NoError(t, tm.hub.AccountChanged(context.Background(), acc.ID))
	payload(w1.expect(protocol.TypeTaskAssign))
	payload(w1.expect(protocol.TypeTaskAssign)) // the retry
	assert.Equal(t, acc.ID, payload(w1.expect(protocol.TypeTaskRevoke))["account_id"])
	assert.Equal(t, acc.ID, payload(w2.expect(protocol.TypeTaskAssign))["account_id"])
}

func TestPauseRevokesAndResumeAssigns(t *testing.T) {
	tm := newTestMaster(t, nil)
	alice, _ := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	w, _ := tm.registerWorker(t, tm.token(t, "pi"), "w1", 5)
	paused := protocol.AccountStatusPaused
	_, err := tm.st.UpdateAccount(context.Background(), acc.ID, storePatch(&paused))
	require.NoError(t, err)
	require.NoError(t, tm.hub.AccountChanged(context.Background(), acc.ID))
	assert.Equal(t, acc.ID, payload(w.expect(protocol.TypeTaskRevoke))["account_id"])
	active := protocol.AccountStatusActive
	_, err = tm.st.UpdateAccount(context.Background(), acc.ID, storePatch(&active))
	require.NoError(t, err)
	require.NoError(t, tm.hub.AccountChanged(context.Background(), acc.ID))
	assert.Equal(t, acc.ID, payload(w.expect(protocol.TypeTaskAssign))["account_id"])
}

func TestShutdownWorkerMovesAccountsFirst(t *testing.T) {
	tm := newTestMaster(t, nil)
	alice, _ := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	w1, _ := tm.registerWorker(t, tm.token(t, "pi1"), "w1", 5)
	w2, _ := tm.registerWorker(t, tm.token(t, "pi2"), "w2", 5)
	require.NoError(t, tm.hub.ShutdownWorker(context.Background(), "w1", "maintenance", 7*time.Second))
	assert.Equal(t, acc.ID, payload(w2.expect(protocol.TypeTaskAssign))["account_id"])
	sd := payload(w1.expect(protocol.TypeShutdown))
	assert.Equal(t, "maintenance", sd["reason"])
	assert.InDelta(t, 7, sd["graceful_timeout"], 0)
	assert.ErrorIs(t, tm.hub.ShutdownWorker(context.Background(), "nobody", "", time.Second), hub.ErrWorkerOffline)
}

func TestClientConnect(t *testing.T) {
	tm := newTestMaster(t, nil)
	alice, jwt := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	w, _ := tm.registerWorker(t, tm.token(t, "pi"), "w1", 5)
	for i := range 3 {
		w.send(protocol.TypeMessageDetected, detected("w1", acc.ID, "c"+string(rune('0'+i)), string(rune('1'+i)), "hi"))
		w.expect(protocol.TypeMessageAck)
	}
	_, ack := tm.connectClient(t, jwt, "laptop")
	assert.Equal(t, true, ack["success"])
	assert.True(t, strings.HasPrefix(ack["session_id"].(string), "session-"))
	assert.InDelta(t, 3, ack["unread_notifications"], 0)

	other := newTestMaster(t, nil)
	_, foreign := other.user(t, "mallory", true)
	tests := []struct {
		name  string
		token string
	}{
		{"garbage", "not-a-jwt"},
		{"other master's key", foreign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tm.dial(t, nil)
			c.send(protocol.TypeClientConnect, protocol.ClientConnect{DeviceID: "d", DeviceType: "ios", AuthToken: tt.token})
			assert.Equal(t, "ERR_AUTH_FAILED", payload(c.expect("client:connect:error"))["error_code"])
			c.send(protocol.TypeSyncRequest, protocol.SyncRequest{DeviceID: "d"})
			assert.Equal(t, "ERR_AUTH_FAILED", payload(c.expect("client:sync:request:error"))["error_code"])
		})
	}
}

func TestSyncPagesWithCursorAndReadState(t *testing.T) {
	tm := newTestMaster(t, func(c *hub.Config) { c.SyncPageSize = 2 })
	alice, jwt := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	w, _ := tm.registerWorker(t, tm.token(t, "pi"), "w1", 5)
	before := time.Now().Add(-time.Minute).Unix()
	for i := range 5 {
		w.send(protocol.TypeMessageDetected, detected("w1", acc.ID, "c"+string(rune('a'+i)), string(rune('1'+i)), "msg"))
		w.expect(protocol.TypeMessageAck)
	}
	c, _ := tm.connectClient(t, jwt, "laptop")
	var ids []string
	cursor := ""
	for page := 0; page < 5; page++ {
		c.send(protocol.TypeSyncRequest, map[string]any{"device_id": "laptop", "last_sync_time": before, "cursor": cursor})
		resp := payload(c.expect(protocol.TypeSyncResponse))
		require.Equal(t, true, resp["success"])
		for _, n := range resp["notifications"].([]any) {
			ids = append(ids, n.(map[string]any)["id"].(string))
			assert.Equal(t, false, n.(map[string]any)["read"])
		}
		cursor, _ = resp["cursor"].(string)
		if resp["has_more"] != true {
			break
		}
	}
	require.Len(t, ids, 5, "all five, same second or not, no repeats")
	seen := map[string]bool{}
	for _, id := range ids {
		assert.False(t, seen[id])
		seen[id] = true
	}
	// Contract-only sync: by time alone.
	c.send(protocol.TypeSyncRequest, protocol.SyncRequest{DeviceID: "laptop", LastSyncTime: protocol.Timestamp(before)})
	assert.Len(t, payload(c.expect(protocol.TypeSyncResponse))["notifications"], 2)
	c.send(protocol.TypeSyncRequest, protocol.SyncRequest{DeviceID: "laptop", LastSyncTime: protocol.Timestamp(time.Now().Add(time.Hour).Unix())})
	assert.Empty(t, payload(c.expect(protocol.TypeSyncResponse))["notifications"])
}

func TestReadMarksAcrossDevices(t *testing.T) {
	tm := newTestMaster(t, nil)
	alice, jwt := tm.user(t, "alice", false)
	_, bobJWT := tm.user(t, "bob", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	w, _ := tm.registerWorker(t, tm.token(t, "pi"), "w1", 5)
	laptop, _ := tm.connectClient(t, jwt, "laptop")
	phone, _ := tm.connectClient(t, jwt, "phone")
	bob, _ := tm.connectClient(t, bobJWT, "bob")
	w.send(protocol.TypeMessageDetected, detected("w1", acc.ID, "c1", "1", "hi"))
	id := payload(laptop.expect(protocol.TypeNotificationPush))["id"].(string)
	phone.expect(protocol.TypeNotificationPush)

	bob.send(protocol.TypeNotificationRead, protocol.NotificationRead{NotificationID: id})
	assert.Equal(t, "ERR_NOT_FOUND", payload(bob.expect("client:notification:read:error"))["error_code"], "bob cannot see alice's notification")

	laptop.send(protocol.TypeNotificationRead, protocol.NotificationRead{NotificationID: id})
	assert.Equal(t, id, payload(laptop.expect(protocol.TypeNotificationReadAck))["notification_id"])
	assert.Equal(t, id, payload(phone.expect(protocol.TypeNotificationReadBy))["notification_id"])
	laptop.expectNone(protocol.TypeNotificationReadBy, 200*time.Millisecond)

	// Idempotent: a second read acks and tells nobody.
	laptop.send(protocol.TypeNotificationRead, protocol.NotificationRead{NotificationID: id})
	laptop.expect(protocol.TypeNotificationReadAck)
	phone.expectNone(protocol.TypeNotificationReadBy, 200*time.Millisecond)

	laptop.send(protocol.TypeNotificationRead, protocol.NotificationRead{NotificationID: "ntf-nope"})
	assert.Equal(t, "ERR_NOT_FOUND", payload(laptop.expect("client:notification:read:error"))["error_code"])

	_, ack := tm.connectClient(t, jwt, "tablet")
	assert.InDelta(t, 0, ack["unread_notifications"], 0)
	phone.send(protocol.TypeSyncRequest, protocol.SyncRequest{DeviceID: "phone"})
	n := payload(phone.expect(protocol.TypeSyncResponse))["notifications"].([]any)
	require.Len(t, n, 1)
	assert.Equal(t, true, n[0].(map[string]any)["read"])
}

func TestMalformedInputGetsErrorsAndConnectionStays(t *testing.T) {
	tm := newTestMaster(t, nil)
	_, jwt := tm.user(t, "alice", false)
	c := tm.dial(t, nil)
	tests := []struct {
		name     string
		raw      any
		wantType string
		wantCode string
		wantMsg  string
	}{
		{"string", "hello", "unknown:error", "ERR_INVALID_PAYLOAD", "JSON object"},
		{"number", 42, "unknown:error", "ERR_INVALID_PAYLOAD", "JSON object"},
		{"array", []any{1, 2}, "unknown:error", "ERR_INVALID_PAYLOAD", "JSON object"},
		{"no type", map[string]any{"version": "v1", "payload": map[string]any{}, "timestamp": 1}, "unknown:error", "ERR_INVALID_PAYLOAD", "type is required"},
		{"unknown type", map[string]any{"type": "client:dance", "version": "v1", "payload": map[string]any{}, "timestamp": 1}, "client:dance:error", "ERR_INVALID_PAYLOAD", "unknown message type"},
		{"master-only type", map[string]any{"type": "master:notification:push", "version": "v1", "payload": map[string]any{"id": "x", "type": "comment", "account_id": "a"}, "timestamp": 1}, "master:notification:push:error", "ERR_INVALID_PAYLOAD", "not a message the master accepts"},
		{"bad version", map[string]any{"type": "client:connect", "version": "v2", "payload": map[string]any{}, "timestamp": 1}, "client:connect:error", "ERR_UNSUPPORTED_VERSION", "v2"},
		{"payload not object", map[string]any{"type": "client:connect", "version": "v1", "payload": "x", "timestamp": 1}, "client:connect:error", "ERR_INVALID_PAYLOAD", "payload must be a JSON object"},
		{"ill-typed field", map[string]any{"type": "client:connect", "version": "v1", "payload": map[string]any{"device_id": 5}, "timestamp": 1}, "client:connect:error", "ERR_INVALID_PAYLOAD", "device_id must be a string"},
		{"oversize", map[string]any{"type": "client:connect", "version": "v1", "timestamp": 1, "payload": map[string]any{"device_name": strings.Repeat("x", protocol.MaxMessageBytes)}}, "client:connect:error", "ERR_INVALID_PAYLOAD", "limit"},
		{"worker event before register", map[string]any{"type": "worker:heartbeat", "version": "v1", "timestamp": 1, "payload": map[string]any{"worker_id": "w", "status": "online"}}, "worker:heartbeat:error", "ERR_AUTH_FAILED", "worker:register first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.sendRaw(tt.raw)
			e := c.expect(tt.wantType)
			p := payload(e)
			assert.Equal(t, tt.wantCode, p["error_code"])
			assert.Contains(t, p["error_message"], tt.wantMsg)
			assert.Equal(t, false, p["success"])
			assert.Equal(t, "v1", e["version"])
			assert.True(t, c.sock.Connected(), "the connection stays up")
		})
	}
	// After all that, the same socket still works as a client...
	c.send(protocol.TypeClientConnect, protocol.ClientConnect{DeviceID: "d", DeviceType: "desktop", AuthToken: jwt})
	c.expect(protocol.TypeClientConnectAck)
	// ...and may not speak for a worker.
	c.send(protocol.TypeWorkerRegister, protocol.WorkerRegister{WorkerID: "w", Capabilities: []string{"douyin"}})
	assert.Contains(t, payload(c.expect("worker:register:error"))["error_message"], "a client connection cannot send")
}

func TestRequestIDEchoAndAckCallback(t *testing.T) {
	tm := newTestMaster(t, nil)
	_, jwt := tm.user(t, "alice", false)
	c := tm.dial(t, nil)
	got := make(chan map[string]any, 1)
	msg := wire(t, protocol.TypeClientConnect, protocol.ClientConnect{DeviceID: "d", DeviceType: "android", AuthToken: jwt}, "req-42")
	require.NoError(t, c.sock.Emit(protocol.SocketEvent, msg, func(args []any, err error) {
		if err == nil && len(args) > 0 {
			m, _ := args[0].(map[string]any)
			got <- m
		}
	}))
	ev := c.expect(protocol.TypeClientConnectAck)
	assert.Equal(t, "req-42", ev["requestId"])
	select {
	case m := <-got:
		assert.Equal(t, protocol.TypeClientConnectAck, m["type"])
		assert.Equal(t, "req-42", m["requestId"])
	case <-time.After(waitFor):
		t.Fatal("ack callback not called")
	}
}

func TestRevokedTokenCutsWorkerOff(t *testing.T) {
	tm := newTestMaster(t, nil)
	alice, _ := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)
	tok, secret, err := tm.st.CreateWorkerToken(context.Background(), "pi1")
	require.NoError(t, err)
	w1, _ := tm.registerWorker(t, secret, "w1", 5)
	w2, _ := tm.registerWorker(t, tm.token(t, "pi2"), "w2", 5)
	require.NoError(t, tm.st.RevokeWorkerToken(context.Background(), tok.ID))
	tm.hub.TokenRevoked(context.Background(), tok.ID)
	// The master's own view decides: the Go client library notices a
	// server-side close only sometimes before its ping timeout.
	live := tm.hub.WorkerLive("w1")
	assert.False(t, live.Online, "taken offline")
	assert.False(t, live.Connected, "its connection dropped")
	row, err := tm.st.GetWorker(context.Background(), "w1")
	require.NoError(t, err)
	assert.Equal(t, "offline", row.Status)
	assert.Equal(t, acc.ID, payload(w2.expect(protocol.TypeTaskAssign))["account_id"])
	w1.expectNone(protocol.TypeTaskAssign, 300*time.Millisecond)
}

// keepAlive heartbeats for a worker until the returned stop is called.
func keepAlive(w *peer, id string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-time.After(150 * time.Millisecond):
				w.send(protocol.TypeWorkerHeartbeat, protocol.WorkerHeartbeat{WorkerID: id, Status: "online"})
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}
