package douyin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
)

// Credentials is an account's credential blob: its cookie jar in the shape
// of CDP's network.Cookie plus the www origin's localStorage keys.
type Credentials struct {
	Cookies      []Cookie          `json:"cookies"`
	LocalStorage map[string]string `json:"localStorage,omitempty"`
}

// Cookie is one cookie of a jar.
type Cookie struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Domain string `json:"domain"`
	Path   string `json:"path"`
	// Expires is seconds since the epoch; -1 or 0 for a session cookie.
	Expires  float64 `json:"expires"`
	HTTPOnly bool    `json:"httpOnly"`
	Secure   bool    `json:"secure"`
	Session  bool    `json:"session"`
	SameSite string  `json:"sameSite,omitempty"`
}

// ParseCredentials decodes a credential blob; a jar without cookies is an
// error.
func ParseCredentials(b []byte) (Credentials, error) {
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("decoding credentials: %w", err)
	}
	if len(c.Cookies) == 0 {
		return Credentials{}, errors.New("credentials hold no cookies")
	}
	return c, nil
}

// cookieParams turns the jar into Network.setCookies parameters.
func (c Credentials) cookieParams() []*network.CookieParam {
	out := make([]*network.CookieParam, 0, len(c.Cookies))
	for _, k := range c.Cookies {
		p := &network.CookieParam{
			Name: k.Name, Value: k.Value, Domain: k.Domain, Path: k.Path,
			HTTPOnly: k.HTTPOnly, Secure: k.Secure,
		}
		if p.Path == "" {
			p.Path = "/"
		}
		if !k.Session && k.Expires > 0 {
			p.Expires = cdp.TimeSinceEpoch(k.Expires)
		}
		switch strings.ToLower(k.SameSite) {
		case "strict":
			p.SameSite = network.CookieSameSiteStrict
		case "lax":
			p.SameSite = network.CookieSameSiteLax
		case "none":
			if k.Secure {
				p.SameSite = network.CookieSameSiteNone
			}
		}
		out = append(out, p)
	}
	return out
}

// cookie returns the named cookie of the jar.
func (c Credentials) cookie(name string) (Cookie, bool) {
	for _, k := range c.Cookies {
		if k.Name == name && k.Value != "" {
			return k, true
		}
	}
	return Cookie{}, false
}

// expiresAt is when the session cookie expires; zero when unknown.
func (c Credentials) expiresAt(session string) time.Time {
	k, ok := c.cookie(session)
	if !ok || k.Session || k.Expires <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(k.Expires), 0)
}

// fromBrowser turns cookies read from Chromium into jar cookies, sorted
// so equal jars compare equal.
func fromBrowser(cs []*network.Cookie) []Cookie {
	out := make([]Cookie, 0, len(cs))
	for _, k := range cs {
		out = append(out, Cookie{
			Name: k.Name, Value: k.Value, Domain: k.Domain, Path: k.Path, Expires: k.Expires,
			HTTPOnly: k.HTTPOnly, Secure: k.Secure, Session: k.Session, SameSite: string(k.SameSite),
		})
	}
	slices.SortFunc(out, func(a, b Cookie) int {
		return strings.Compare(a.Domain+"\x00"+a.Path+"\x00"+a.Name, b.Domain+"\x00"+b.Path+"\x00"+b.Name)
	})
	return out
}

// changedCookies returns the names of cookies whose value differs between
// old and cur, or that are in only one of them. Expiry-only changes do not
// count: they do not change what logs in.
func changedCookies(old, cur Credentials) []string {
	key := func(k Cookie) string { return k.Domain + "\x00" + k.Path + "\x00" + k.Name }
	was := map[string]Cookie{}
	for _, k := range old.Cookies {
		was[key(k)] = k
	}
	var names []string
	for _, k := range cur.Cookies {
		o, ok := was[key(k)]
		delete(was, key(k))
		if !ok || o.Value != k.Value {
			names = append(names, k.Name)
		}
	}
	for _, k := range was {
		names = append(names, k.Name)
	}
	if !maps.Equal(old.LocalStorage, cur.LocalStorage) {
		names = append(names, "localStorage")
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// flexID is an id that Douyin sends as a string or as a number of any
// size; it keeps the digits as they were.
type flexID string

// UnmarshalJSON implements json.Unmarshaler.
func (id *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*id = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		*id = flexID(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		*id = flexID(n.String())
	}
	return nil
}
