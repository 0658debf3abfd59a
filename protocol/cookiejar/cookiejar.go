// Package cookiejar is the credentials format Tidewatch moves between master
// and appliances for cookie-based platforms: a browser's cookies, in the
// shape the Chrome DevTools Protocol uses, plus the localStorage values a
// logged-in page expects. It is pure; both roles import it.
package cookiejar

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Cookie is one cookie as CDP's Network.Cookie describes it.
type Cookie struct {
	Name     string  `json:"name"`
	Value    string  `json:"value"`
	Domain   string  `json:"domain,omitempty"`
	Path     string  `json:"path,omitempty"`
	Expires  float64 `json:"expires,omitempty"` // Unix seconds; 0 or -1: session cookie
	HTTPOnly bool    `json:"httpOnly,omitempty"`
	Secure   bool    `json:"secure,omitempty"`
	Session  bool    `json:"session,omitempty"`
	SameSite string  `json:"sameSite,omitempty"`
}

// Jar is an account's credentials.
type Jar struct {
	Cookies      []Cookie          `json:"cookies"`
	LocalStorage map[string]string `json:"localStorage,omitempty"`
}

// ErrNotJar is returned for credentials that are not a cookie jar.
var ErrNotJar = errors.New("credentials are not a cookie jar")

// Parse reads a jar. Anything that is not a JSON object with a cookies array
// is ErrNotJar.
func Parse(b []byte) (Jar, error) {
	var j Jar
	var probe struct {
		Cookies json.RawMessage `json:"cookies"`
	}
	if err := json.Unmarshal(b, &probe); err != nil || len(probe.Cookies) == 0 || probe.Cookies[0] != '[' {
		return j, ErrNotJar
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return j, fmt.Errorf("%w: %w", ErrNotJar, err)
	}
	return j, nil
}

// Get returns the value of the first cookie named name.
func (j Jar) Get(name string) (string, bool) {
	for _, c := range j.Cookies {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// EarliestExpiry returns the earliest expiry among the named cookies that
// carry one; false when none does.
func (j Jar) EarliestExpiry(names ...string) (time.Time, bool) {
	var earliest float64
	for _, c := range j.Cookies {
		if !slices.Contains(names, c.Name) || c.Session || c.Expires <= 0 || math.IsInf(c.Expires, 0) || math.IsNaN(c.Expires) {
			continue
		}
		if earliest == 0 || c.Expires < earliest {
			earliest = c.Expires
		}
	}
	if earliest == 0 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(earliest)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// sessionCookies names, per platform, the cookies that carry the login; the
// earliest of their expiries is when the credentials stop working.
func sessionCookies(platform string) ([]string, bool) {
	switch platform {
	case "douyin":
		return []string{"sessionid", "sessionid_ss", "sid_tt", "sid_guard", "uid_tt"}, true
	default:
		return nil, false
	}
}

// SessionExpiry returns when a platform's credentials expire: the earliest
// expiry among its session cookies.
func SessionExpiry(platform string, credentials []byte) (time.Time, bool) {
	names, ok := sessionCookies(platform)
	if !ok {
		return time.Time{}, false
	}
	j, err := Parse(credentials)
	if err != nil {
		return time.Time{}, false
	}
	return j.EarliestExpiry(names...)
}
