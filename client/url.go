package client

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// NormalizeServer checks a master URL and returns it in a canonical form:
// scheme http or https (added as http:// when missing), a host, no trailing
// slash, no query. A path prefix is kept, for a master behind a reverse proxy
// at e.g. https://example.org/tidewatch.
func NormalizeServer(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("server URL is empty")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http", "https":
	default:
		return "", fmt.Errorf("server URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("server URL %q has no host", raw)
	}
	if u.User != nil {
		return "", fmt.Errorf("server URL %q must not carry a user name or password", raw)
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}
