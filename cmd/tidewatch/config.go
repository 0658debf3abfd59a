package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tidewatch/tidewatch/client"
	"github.com/tidewatch/tidewatch/internal/cliflag"
)

// Files in the configuration directory.
const (
	sessionFile = "session.json"
	deviceFile  = "device.json"
	configMode  = 0o700
	fileMode    = 0o600
)

// session is what login keeps: the token is a secret, so the file is
// readable by its owner only, like an SSH key.
type session struct {
	Server    string `json:"server"`
	Token     string `json:"token"`
	ExpiresAt int64  `json:"expires_at"`
	Username  string `json:"username"`
	UserID    string `json:"user_id"`
	Admin     bool   `json:"admin"`
}

// loginHint is the command that fixes a missing or stale session.
func loginHint(server, username string) string {
	if server == "" {
		server = "URL"
	}
	if username == "" {
		username = "NAME"
	}
	return fmt.Sprintf("run: tidewatch login --server %s --username %s", server, username)
}

// loadSession reads the session for the server asked for (any when "").
func (c *cli) loadSession(g *globals) (*session, error) {
	want := ""
	if g.server != "" {
		s, err := client.NormalizeServer(g.server)
		if err != nil {
			return nil, cliflag.Usagef("--server: %s", err)
		}
		want = s
	}
	b, err := os.ReadFile(filepath.Join(g.config, sessionFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("not logged in; %s", loginHint(want, ""))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the session: %w", err)
	}
	var s session
	if err := json.Unmarshal(b, &s); err != nil || s.Server == "" || s.Token == "" {
		return nil, fmt.Errorf("the session file %s is damaged; %s", filepath.Join(g.config, sessionFile), loginHint(want, ""))
	}
	if want != "" && want != s.Server {
		return nil, fmt.Errorf("not logged in to %s (the session is for %s); %s", want, s.Server, loginHint(want, s.Username))
	}
	if s.ExpiresAt > 0 && !c.now().Before(time.Unix(s.ExpiresAt, 0)) {
		return nil, fmt.Errorf("session expired; %s", loginHint(s.Server, s.Username))
	}
	return &s, nil
}

// saveSession writes the session, creating the directory owner-only.
func saveSession(dir string, s *session) error {
	if err := os.MkdirAll(dir, configMode); err != nil {
		return fmt.Errorf("creating the configuration directory: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the session: %w", err)
	}
	return client.WriteFileAtomic(filepath.Join(dir, sessionFile), append(b, '\n'), fileMode)
}

// explain turns a client error into the message a user can act on.
func explain(err error, s *session) error {
	var ue *client.UnreachableError
	switch {
	case errors.Is(err, client.ErrUnauthorized):
		return fmt.Errorf("session expired or revoked (the server refused it); %s", loginHint(s.Server, s.Username))
	case errors.Is(err, client.ErrForbidden):
		return fmt.Errorf("%s is not an admin: %w", s.Username, err)
	case errors.As(err, &ue):
		return fmt.Errorf("cannot reach the server at %s: %v", ue.URL, ue.Err)
	}
	return err
}

// deviceID returns this installation's device id, creating it once.
func deviceID(dir string) (string, error) {
	path := filepath.Join(dir, deviceFile)
	var d struct {
		DeviceID string `json:"device_id"`
	}
	b, err := os.ReadFile(path)
	if err == nil && json.Unmarshal(b, &d) == nil && d.DeviceID != "" {
		return d.DeviceID, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading the device id: %w", err)
	}
	if err := os.MkdirAll(dir, configMode); err != nil {
		return "", fmt.Errorf("creating the configuration directory: %w", err)
	}
	d.DeviceID = "cli-" + rand.Text()[:20]
	b, err = json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encoding the device id: %w", err)
	}
	if err := client.WriteFileAtomic(path, append(b, '\n'), fileMode); err != nil {
		return "", err
	}
	return d.DeviceID, nil
}

// statePath is the cursor file of one user on one server, so that logging
// in elsewhere never resumes from a cursor that means nothing there.
func statePath(dir string, s *session) string {
	h := sha256.Sum256([]byte(s.Server + "\x00" + s.UserID))
	return filepath.Join(dir, "state-"+hex.EncodeToString(h[:6])+".json")
}
