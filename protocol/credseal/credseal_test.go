package credseal

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeriveKey(t *testing.T) {
	k1 := DeriveKey("twk_wtk-1_secret")
	assert.Len(t, k1, KeySize)
	assert.Equal(t, k1, DeriveKey("twk_wtk-1_secret"), "deterministic")
	assert.NotEqual(t, k1, DeriveKey("twk_wtk-1_secreT"))
}

func TestSealOpen(t *testing.T) {
	key := DeriveKey("token-a")
	otherKey := DeriveKey("token-b")
	plaintext := []byte(`[{"name":"sessionid","value":"abc123","domain":".douyin.com"}]`)

	sealed, err := Seal(key, plaintext, "acc-001")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(sealed, "v1."))
	assert.NotContains(t, sealed, "abc123")

	again, err := Seal(key, plaintext, "acc-001")
	require.NoError(t, err)
	assert.NotEqual(t, sealed, again, "random nonce")

	// Tampering: flip one bit of the ciphertext.
	raw, err := base64.RawURLEncoding.DecodeString(sealed[3:])
	require.NoError(t, err)
	raw[len(raw)-1] ^= 1
	tampered := "v1." + base64.RawURLEncoding.EncodeToString(raw)

	tests := []struct {
		name    string
		key     []byte
		sealed  string
		aad     string
		want    []byte
		wantErr error
	}{
		{name: "ok", key: key, sealed: sealed, aad: "acc-001", want: plaintext},
		{name: "ok second", key: key, sealed: again, aad: "acc-001", want: plaintext},
		{name: "wrong key", key: otherKey, sealed: sealed, aad: "acc-001", wantErr: ErrOpen},
		{name: "wrong aad", key: key, sealed: sealed, aad: "acc-002", wantErr: ErrOpen},
		{name: "tampered", key: key, sealed: tampered, aad: "acc-001", wantErr: ErrOpen},
		{name: "no prefix", key: key, sealed: sealed[3:], aad: "acc-001", wantErr: ErrMalformed},
		{name: "other version", key: key, sealed: "v2." + sealed[3:], aad: "acc-001", wantErr: ErrMalformed},
		{name: "bad base64", key: key, sealed: "v1.!!!", aad: "acc-001", wantErr: ErrMalformed},
		{name: "too short", key: key, sealed: "v1." + base64.RawURLEncoding.EncodeToString(make([]byte, 27)), aad: "", wantErr: ErrMalformed},
		{name: "empty", key: key, sealed: "", aad: "", wantErr: ErrMalformed},
		{name: "short key", key: key[:16], sealed: sealed, aad: "acc-001", wantErr: ErrKeySize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Open(tc.key, tc.sealed, tc.aad)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, got)

				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	_, err = Seal(key[:31], plaintext, "")
	assert.ErrorIs(t, err, ErrKeySize)

	empty, err := Seal(key, nil, "acc-001")
	require.NoError(t, err)
	got, err := Open(key, empty, "acc-001")
	require.NoError(t, err)
	assert.Empty(t, got)
}

func FuzzOpen(f *testing.F) {
	key := DeriveKey("fuzz")
	valid, err := Seal(key, []byte("cookie"), "acc-1")
	require.NoError(f, err)
	f.Add(valid, "acc-1")
	f.Add("v1.", "")
	f.Add("v1.AAAA", "x")
	f.Add("", "")
	f.Add(strings.Repeat("A", 100), "acc-1")

	f.Fuzz(func(t *testing.T, sealed, aad string) {
		got, err := Open(key, sealed, aad)
		if err != nil {
			assert.Nil(t, got)

			return
		}
		// Anything that opens must be the one value we sealed, under its aad.
		assert.Equal(t, "acc-1", aad)
		assert.True(t, bytes.Equal([]byte("cookie"), got))
	})
}
