package store

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateAccount(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	u := mustUser(t, s, "alice", false)

	a, err := s.CreateAccount(ctx, Account{OwnerID: u.ID, Platform: "douyin", PlatformAccountID: "dy1", Name: "mine"},
		[]byte(`[{"name":"sessionid","value":"abc"}]`))
	require.NoError(t, err)
	assert.Regexp(t, `^acc-[0-9a-f]{12}$`, a.ID)
	assert.Equal(t, AccountActive, a.Status)
	assert.Equal(t, DefaultMonitorInterval, a.MonitorInterval)
	assert.True(t, a.HasCredentials)
	require.NotNil(t, a.CredentialsUpdatedAt)
	assert.Equal(t, env.clock.now(), *a.CredentialsUpdatedAt)

	got, err := s.GetAccount(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, a, got)

	tests := []struct {
		name    string
		a       Account
		wantErr error
	}{
		{name: "duplicate", a: Account{Platform: "douyin", PlatformAccountID: "dy1"}, wantErr: ErrConflict},
		{name: "unknown owner", a: Account{OwnerID: "usr-none", Platform: "douyin", PlatformAccountID: "dy2"}, wantErr: ErrNotFound},
		{name: "no platform", a: Account{PlatformAccountID: "dy3"}, wantErr: ErrInvalid},
		{name: "no platform id", a: Account{Platform: "douyin"}, wantErr: ErrInvalid},
		{name: "bad status", a: Account{Platform: "douyin", PlatformAccountID: "dy4", Status: "zzz"}, wantErr: ErrInvalid},
		{name: "negative interval", a: Account{Platform: "douyin", PlatformAccountID: "dy5", MonitorInterval: -1}, wantErr: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateAccount(ctx, tc.a, nil)
			assert.ErrorIs(t, err, tc.wantErr)
		})
	}

	// Same platform id on another platform is fine; no owner is fine.
	b, err := s.CreateAccount(ctx, Account{Platform: "kuaishou", PlatformAccountID: "dy1", Status: AccountPaused}, nil)
	require.NoError(t, err)
	assert.False(t, b.HasCredentials)
	assert.Nil(t, b.CredentialsUpdatedAt)
	assert.Empty(t, b.OwnerID)

	_, err = s.GetAccount(ctx, "acc-none")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestAccountVisibility(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	admin := mustUser(t, s, "root", true)
	admin2 := mustUser(t, s, "root2", true)
	x := mustUser(t, s, "x", false)
	y := mustUser(t, s, "y", false)

	ax := mustAccount(t, s, x.ID, "x1")
	ay := mustAccount(t, s, y.ID, "y1")
	orphan := mustAccount(t, s, "", "o1")

	tests := []struct {
		name string
		v    Viewer
		want []string
	}{
		{name: "admin", v: Viewer{UserID: admin.ID, Admin: true}, want: []string{ax.ID, ay.ID, orphan.ID}},
		{name: "x", v: Viewer{UserID: x.ID}, want: []string{ax.ID}},
		{name: "y", v: Viewer{UserID: y.ID}, want: []string{ay.ID}},
		{name: "stranger", v: Viewer{UserID: "usr-none"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, err := s.ListAccounts(ctx, tc.v)
			require.NoError(t, err)
			var ids []string
			for _, a := range list {
				ids = append(ids, a.ID)
			}
			assert.Equal(t, tc.want, ids)
		})
	}

	viewers, err := s.AccountViewers(ctx, ax.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{x.ID, admin.ID, admin2.ID}, viewers)
	viewers, err = s.AccountViewers(ctx, orphan.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{admin.ID, admin2.ID}, viewers)
	_, err = s.AccountViewers(ctx, "acc-none")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestUpdateAccount(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	x := mustUser(t, s, "x", false)
	y := mustUser(t, s, "y", false)
	a := mustAccount(t, s, x.ID, "x1")

	ptr := func(v string) *string { return &v }
	iptr := func(v int) *int { return &v }

	_, err := s.SetAccountStatus(ctx, a.ID, AccountError, "cookie expired")
	require.NoError(t, err)

	env.clock.advance(time.Second)
	got, err := s.UpdateAccount(ctx, a.ID, AccountPatch{Name: ptr("renamed"), MonitorInterval: iptr(60)})
	require.NoError(t, err)
	assert.Equal(t, "renamed", got.Name)
	assert.Equal(t, 60, got.MonitorInterval)
	assert.Equal(t, AccountError, got.Status, "untouched")
	assert.Equal(t, "cookie expired", got.ErrorMessage, "untouched")
	assert.Equal(t, x.ID, got.OwnerID, "untouched")
	assert.Equal(t, env.clock.now(), got.UpdatedAt)

	got, err = s.UpdateAccount(ctx, a.ID, AccountPatch{Status: ptr(AccountPaused), OwnerID: ptr(y.ID)})
	require.NoError(t, err)
	assert.Equal(t, AccountPaused, got.Status)
	assert.Empty(t, got.ErrorMessage, "cleared when leaving error")
	assert.Equal(t, y.ID, got.OwnerID)
	assert.Equal(t, "renamed", got.Name)

	got, err = s.UpdateAccount(ctx, a.ID, AccountPatch{OwnerID: ptr("")})
	require.NoError(t, err)
	assert.Empty(t, got.OwnerID)

	tests := []struct {
		name    string
		id      string
		p       AccountPatch
		wantErr error
	}{
		{name: "unknown account", id: "acc-none", p: AccountPatch{Name: ptr("n")}, wantErr: ErrNotFound},
		{name: "unknown owner", id: a.ID, p: AccountPatch{OwnerID: ptr("usr-none")}, wantErr: ErrNotFound},
		{name: "bad status", id: a.ID, p: AccountPatch{Status: ptr("zzz")}, wantErr: ErrInvalid},
		{name: "zero interval", id: a.ID, p: AccountPatch{MonitorInterval: iptr(0)}, wantErr: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateAccount(ctx, tc.id, tc.p)
			assert.ErrorIs(t, err, tc.wantErr)
		})
	}

	_, err = s.SetAccountStatus(ctx, a.ID, "zzz", "")
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = s.SetAccountStatus(ctx, "acc-none", AccountActive, "")
	assert.ErrorIs(t, err, ErrNotFound)
	got, err = s.SetAccountStatus(ctx, a.ID, AccountRateLimited, "slow down")
	require.NoError(t, err)
	assert.Equal(t, AccountRateLimited, got.Status)
	assert.Equal(t, "slow down", got.ErrorMessage)
}

func TestAccountCredentials(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	const cookie = "sessionid=SECRET-COOKIE-0123456789abcdef"

	a, err := s.CreateAccount(ctx, Account{Platform: "douyin", PlatformAccountID: "dy1"}, []byte(cookie))
	require.NoError(t, err)
	b := mustAccount(t, s, "", "dy2")

	got, err := s.AccountCredentials(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, cookie, string(got))

	got, err = s.AccountCredentials(ctx, b.ID)
	require.NoError(t, err)
	assert.Nil(t, got)

	_, err = s.AccountCredentials(ctx, "acc-none")
	assert.ErrorIs(t, err, ErrNotFound)

	// Rolled cookies replace the old ones.
	const cookie2 = "sessionid=ROLLED-COOKIE-fedcba9876543210"
	env.clock.advance(time.Hour)
	exp := env.clock.now().Add(30 * 24 * time.Hour)
	require.NoError(t, s.SetAccountCredentials(ctx, b.ID, []byte(cookie2), &exp))
	got, err = s.AccountCredentials(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, cookie2, string(got))
	acc, err := s.GetAccount(ctx, b.ID)
	require.NoError(t, err)
	assert.True(t, acc.HasCredentials)
	require.NotNil(t, acc.CredentialsUpdatedAt)
	assert.Equal(t, env.clock.now(), *acc.CredentialsUpdatedAt)
	require.NotNil(t, acc.CredentialsExpiresAt)
	assert.Equal(t, exp, *acc.CredentialsExpiresAt)

	assert.ErrorIs(t, s.SetAccountCredentials(ctx, "acc-none", []byte("x"), nil), ErrNotFound)

	// A sealed blob moved onto another account does not open there.
	_, err = s.wdb.ExecContext(ctx, `UPDATE accounts SET credentials = (SELECT credentials FROM accounts WHERE id = ?) WHERE id = ?`, a.ID, b.ID)
	require.NoError(t, err)
	_, err = s.AccountCredentials(ctx, b.ID)
	assert.Error(t, err)

	// Neither cookie is anywhere in the files, after a checkpoint moved the
	// WAL into the main file, nor in the WAL itself.
	require.NoError(t, s.Checkpoint(ctx))
	for _, p := range []string{env.path, env.path + "-wal"} {
		raw, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		assert.False(t, bytes.Contains(raw, []byte("SECRET-COOKIE")), p)
		assert.False(t, bytes.Contains(raw, []byte("ROLLED-COOKIE")), p)
	}
	// Sanity: the same grep does find plain data we stored.
	raw, err := os.ReadFile(env.path)
	require.NoError(t, err)
	assert.True(t, bytes.Contains(raw, []byte("dy2")))

	// Removing credentials.
	require.NoError(t, s.SetAccountCredentials(ctx, a.ID, nil, &exp))
	acc, err = s.GetAccount(ctx, a.ID)
	require.NoError(t, err)
	assert.False(t, acc.HasCredentials)
	assert.Nil(t, acc.CredentialsExpiresAt)

	// A store opened with another key cannot read credentials.
	require.NoError(t, s.SetAccountCredentials(ctx, a.ID, []byte(cookie), nil))
	require.NoError(t, s.Close())
	other, err := Open(ctx, &Config{Path: env.path, Key: bytes.Repeat([]byte{7}, 32)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	_, err = other.AccountCredentials(ctx, a.ID)
	assert.Error(t, err)
}

func TestAccountWorkersAndErrors(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()

	active := mustAccount(t, s, "", "a1")
	env.clock.advance(time.Second)
	limited := mustAccount(t, s, "", "a2")
	_, err := s.SetAccountStatus(ctx, limited.ID, AccountRateLimited, "")
	require.NoError(t, err)
	paused := mustAccount(t, s, "", "a3")
	_, err = s.SetAccountStatus(ctx, paused.ID, AccountPaused, "")
	require.NoError(t, err)
	failed := mustAccount(t, s, "", "a4")
	_, err = s.SetAccountStatus(ctx, failed.ID, AccountError, "bad cookie")
	require.NoError(t, err)
	assigned := mustAccount(t, s, "", "a5")
	require.NoError(t, s.SetAccountWorker(ctx, assigned.ID, "worker-1"))
	other, err := s.CreateAccount(ctx, Account{Platform: "kuaishou", PlatformAccountID: "k1"}, nil)
	require.NoError(t, err)

	ids := func(list []Account) []string {
		var out []string
		for _, a := range list {
			out = append(out, a.ID)
		}

		return out
	}

	tests := []struct {
		name      string
		platforms []string
		want      []string
	}{
		{name: "douyin", platforms: []string{"douyin"}, want: []string{active.ID, limited.ID}},
		{name: "both", platforms: []string{"douyin", "kuaishou"}, want: []string{active.ID, limited.ID, other.ID}},
		{name: "unknown", platforms: []string{"x"}, want: nil},
		{name: "none", platforms: nil, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, err := s.AssignableAccounts(ctx, tc.platforms)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ids(list))
		})
	}

	list, err := s.AccountsOfWorker(ctx, "worker-1")
	require.NoError(t, err)
	assert.Equal(t, []string{assigned.ID}, ids(list))
	_, err = s.AccountsOfWorker(ctx, "")
	assert.ErrorIs(t, err, ErrInvalid)

	require.NoError(t, s.SetAccountWorker(ctx, assigned.ID, ""))
	list, err = s.AccountsOfWorker(ctx, "worker-1")
	require.NoError(t, err)
	assert.Empty(t, list)
	assert.ErrorIs(t, s.SetAccountWorker(ctx, "acc-none", "w"), ErrNotFound)

	for want := 1; want <= 3; want++ {
		n, err := s.IncrementNetworkErrors(ctx, active.ID)
		require.NoError(t, err)
		assert.Equal(t, want, n)
	}
	require.NoError(t, s.ResetNetworkErrors(ctx, active.ID))
	got, err := s.GetAccount(ctx, active.ID)
	require.NoError(t, err)
	assert.Zero(t, got.NetworkErrors)
	_, err = s.IncrementNetworkErrors(ctx, "acc-none")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, s.ResetNetworkErrors(ctx, "acc-none"), ErrNotFound)
}

func TestDeleteAccount(t *testing.T) {
	env := newTestStore(t)
	s, ctx := env.s, context.Background()
	u := mustUser(t, s, "x", false)
	a := mustAccount(t, s, u.ID, "a1")
	b := mustAccount(t, s, u.ID, "b1")
	n := mustIngest(t, s, a.ID, "c1")
	mustIngest(t, s, b.ID, "c1")
	_, _, err := s.MarkRead(ctx, Viewer{UserID: u.ID}, n.ID)
	require.NoError(t, err)

	require.NoError(t, s.DeleteAccount(ctx, a.ID))
	assert.ErrorIs(t, s.DeleteAccount(ctx, a.ID), ErrNotFound)

	for table, want := range map[string]int{"messages": 1, "notifications": 1, "notification_reads": 0} {
		var got int
		require.NoError(t, s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&got))
		assert.Equal(t, want, got, table)
	}

	// Re-creating the same platform account starts clean: no dedupe memory.
	a2 := mustAccount(t, s, u.ID, "a1")
	mustIngest(t, s, a2.ID, "c1")
}
