package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/protocol/credseal"
)

const qrA, qrB = "data:image/png;base64,AAAA", "data:image/png;base64,BBBB"

func TestLoginSucceeds(t *testing.T) {
	tm := newTestMaster(t, nil)
	alice, jwt := tm.user(t, "alice", false)
	_, bobJWT := tm.user(t, "bob", false)
	acc := tm.account(t, alice.ID, "dy1", `{"cookies":[]}`)
	_, err := tm.st.SetAccountStatus(context.Background(), acc.ID, protocol.AccountStatusError, "credentials expired")
	require.NoError(t, err)
	secret := tm.token(t, "pi")
	w, _ := tm.registerWorker(t, secret, "w1", 5)
	phone, _ := tm.connectClient(t, jwt, "phone")
	bob, _ := tm.connectClient(t, bobJWT, "bob")

	s, err := tm.hub.StartLogin(context.Background(), acc.ID, alice.ID)
	require.NoError(t, err)
	assert.Equal(t, "pending", s.Status)
	start := payload(w.expect(protocol.TypeLoginStart))
	assert.Equal(t, s.ID, start["session_id"])
	assert.Equal(t, acc.ID, start["account_id"])
	assert.Equal(t, "pending", payload(phone.expect(protocol.TypeLoginUpdate))["status"])

	for _, qr := range []string{qrA, qrB} {
		w.send(protocol.TypeLoginQRCode, protocol.LoginQRCode{SessionID: s.ID, AccountID: acc.ID, QRCodeData: qr})
		w.expect(protocol.TypeLoginQRCode + ":ack")
		upd := payload(phone.expect(protocol.TypeLoginUpdate))
		assert.Equal(t, "qr_ready", upd["status"])
		assert.Equal(t, qr, upd["qr_code_data"])
	}
	got, ok := tm.hub.Login(s.ID)
	require.True(t, ok)
	assert.Equal(t, 2, got.QRUpdates)
	bob.expectNone(protocol.TypeLoginUpdate, 200*time.Millisecond)

	jar := `{"cookies":[{"name":"sessionid","value":"fresh-session","expires":1900000000,"httpOnly":true}]}`
	sealed, err := credseal.Seal(credseal.DeriveKey(secret), []byte(jar), acc.ID)
	require.NoError(t, err)
	w.send(protocol.TypeLoginSuccess, protocol.LoginSuccess{SessionID: s.ID, AccountID: acc.ID, Credentials: sealed,
		UserInfo: protocol.LoginUserInfo{Nickname: "创作者", UID: "9000"}})
	w.expect(protocol.TypeLoginSuccess + ":ack")
	upd := payload(phone.expect(protocol.TypeLoginUpdate))
	assert.Equal(t, "succeeded", upd["status"])
	assert.Equal(t, "创作者", upd["user_info"].(map[string]any)["nickname"])

	// The account is active again and assigned with the new jar.
	assign := payload(w.expect(protocol.TypeTaskAssign))
	plain, err := credseal.Open(credseal.DeriveKey(secret), assign["account_credentials"].(string), acc.ID)
	require.NoError(t, err)
	assert.Contains(t, string(plain), "fresh-session")
	a, err := tm.st.GetAccount(context.Background(), acc.ID)
	require.NoError(t, err)
	assert.Equal(t, "active", a.Status)
	require.NotNil(t, a.CredentialsExpiresAt)
	assert.Equal(t, int64(1900000000), a.CredentialsExpiresAt.Unix())

	// A finished session takes no more reports.
	w.send(protocol.TypeLoginQRCode, protocol.LoginQRCode{SessionID: s.ID, AccountID: acc.ID, QRCodeData: qrA})
	assert.Equal(t, "ERR_INVALID_PAYLOAD", payload(w.expect(protocol.TypeLoginQRCode + ":error"))["error_code"])
}

func TestLoginFailsCancelsAndTimesOut(t *testing.T) {
	tm := newTestMaster(t, func(c *hub.Config) { c.LoginTimeout, c.LoginGrace = 300*time.Millisecond, 100*time.Millisecond })
	alice, jwt := tm.user(t, "alice", false)
	acc := tm.account(t, alice.ID, "dy1", `{}`)

	_, err := tm.hub.StartLogin(context.Background(), acc.ID, alice.ID)
	assert.ErrorIs(t, err, hub.ErrNoWorker)

	w, _ := tm.registerWorker(t, tm.token(t, "pi"), "w1", 5)
	other, _ := tm.registerWorker(t, tm.token(t, "pi2"), "w2", 5)
	phone, _ := tm.connectClient(t, jwt, "phone")

	t.Run("refused", func(t *testing.T) {
		s, err := tm.hub.StartLogin(context.Background(), acc.ID, alice.ID)
		require.NoError(t, err)
		starter := w
		if s.WorkerID == "w2" {
			starter = other
		}
		starter.expect(protocol.TypeLoginStart)
		// Another appliance cannot report on it.
		imposter := other
		if starter == other {
			imposter = w
		}
		imposter.send(protocol.TypeLoginFailed, protocol.LoginFailed{SessionID: s.ID, AccountID: acc.ID, ErrorType: "refused"})
		assert.Equal(t, "ERR_NOT_FOUND", payload(imposter.expect(protocol.TypeLoginFailed + ":error"))["error_code"])
		starter.send(protocol.TypeLoginFailed, protocol.LoginFailed{SessionID: s.ID, AccountID: acc.ID, ErrorType: "refused", ErrorMessage: "用户拒绝"})
		starter.expect(protocol.TypeLoginFailed + ":ack")
		var upd map[string]any
		for upd == nil || upd["status"] != "failed" {
			upd = payload(phone.expect(protocol.TypeLoginUpdate))
		}
		assert.Equal(t, "refused", upd["error_type"])
	})
	t.Run("cancelled", func(t *testing.T) {
		s, err := tm.hub.StartLogin(context.Background(), acc.ID, alice.ID)
		require.NoError(t, err)
		got, err := tm.hub.CancelLogin(context.Background(), s.ID)
		require.NoError(t, err)
		assert.Equal(t, "cancelled", got.Status)
		starter := w
		if s.WorkerID == "w2" {
			starter = other
		}
		assert.Equal(t, s.ID, payload(starter.expect(protocol.TypeLoginCancel))["session_id"])
		_, err = tm.hub.CancelLogin(context.Background(), s.ID)
		assert.ErrorIs(t, err, hub.ErrLoginFinished)
		_, err = tm.hub.CancelLogin(context.Background(), "login-nope")
		assert.ErrorIs(t, err, hub.ErrLoginNotFound)
	})
	t.Run("timed out", func(t *testing.T) {
		s, err := tm.hub.StartLogin(context.Background(), acc.ID, alice.ID)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			got, _ := tm.hub.Login(s.ID)
			return got.Status == "failed" && got.ErrorType == "timeout"
		}, 20*time.Second, 50*time.Millisecond)
	})
}
