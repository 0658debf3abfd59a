package sioconn

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// SocketURL splits a master URL into the origin the client dials and the
// Socket.IO path, keeping a path prefix (a master behind a reverse proxy at
// https://example.org/tidewatch serves /tidewatch/socket.io/). The scheme
// must be http, https, ws or wss. Errors never repeat the URL, which may
// carry a password.
func SocketURL(raw string) (origin, path string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", "", fmt.Errorf("parsing master url: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return "", "", fmt.Errorf("master url scheme %q: want http(s) or ws(s)", u.Scheme)
	}
	if u.Host == "" {
		return "", "", errors.New("master url has no host")
	}
	return u.Scheme + "://" + u.Host, strings.TrimRight(u.Path, "/") + "/socket.io", nil
}

// RedactURL drops user information, query and fragment from a URL, for
// logs.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "invalid"
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}
