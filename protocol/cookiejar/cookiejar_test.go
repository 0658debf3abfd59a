package cookiejar

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"jar", `{"cookies":[{"name":"sessionid","value":"x","httpOnly":true}],"localStorage":{"HasUserLogin":"1"}}`, true},
		{"empty cookies", `{"cookies":[]}`, true},
		{"no cookies", `{"localStorage":{}}`, false},
		{"cookies not array", `{"cookies":"a=b"}`, false},
		{"plain string", `"sessionid=abc"`, false},
		{"garbage", `not json`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrNotJar)
			}
		})
	}
}

func TestEarliestExpiry(t *testing.T) {
	j, err := Parse([]byte(`{"cookies":[
		{"name":"sessionid","value":"a","expires":1800000000},
		{"name":"sid_guard","value":"b","expires":1700000000.5},
		{"name":"ttwid","value":"c","expires":1600000000},
		{"name":"uid_tt","value":"d","expires":-1,"session":true}]}`))
	require.NoError(t, err)
	got, ok := j.EarliestExpiry("sessionid", "sid_guard", "uid_tt")
	require.True(t, ok)
	assert.Equal(t, time.Unix(1700000000, 5e8).UTC(), got, "ttwid is not asked for; session cookies have no expiry")
	_, ok = j.EarliestExpiry("nope")
	assert.False(t, ok)
	v, ok := j.Get("sid_guard")
	assert.True(t, ok)
	assert.Equal(t, "b", v)
}

func TestSessionExpiry(t *testing.T) {
	jar := []byte(`{"cookies":[{"name":"sessionid","value":"a","expires":1800000000},{"name":"msToken","value":"m","expires":1500000000}]}`)
	got, ok := SessionExpiry("douyin", jar)
	require.True(t, ok)
	assert.Equal(t, int64(1800000000), got.Unix(), "msToken is not a session cookie")
	_, ok = SessionExpiry("kuaishou", jar)
	assert.False(t, ok)
	_, ok = SessionExpiry("douyin", []byte(`"sessionid=a"`))
	assert.False(t, ok)
}
