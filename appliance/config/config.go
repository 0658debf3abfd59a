// Package config holds the configuration of the Tidewatch appliance: its
// defaults, its file in the data directory (with the enrollment token sealed,
// never in plaintext), the layering of environment variables and command-line
// flags over that file, and its validation.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"
)

// Defaults of the configuration. Durations follow the wire contract where it
// names one (heartbeat every 10 s).
const (
	// DefaultDataDir is the data directory of an installed appliance.
	DefaultDataDir = "/var/lib/tidewatch"
	// DefaultMaxAccounts is how many Douyin accounts the appliance offers to
	// monitor at once.
	DefaultMaxAccounts = 10
	// DefaultSetupListen is the address of the local setup web page.
	DefaultSetupListen = ":7601"
	// DefaultHeartbeatInterval is the time between two heartbeats to the master.
	DefaultHeartbeatInterval = 10 * time.Second
	// DefaultConnectTimeout bounds one attempt to connect to the master.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultReconnectMin is the first wait after a lost connection.
	DefaultReconnectMin = 1 * time.Second
	// DefaultReconnectMax caps the exponential back-off between reconnects.
	DefaultReconnectMax = 30 * time.Second
	// DefaultShutdownGrace bounds a clean shutdown before parts are abandoned.
	DefaultShutdownGrace = 10 * time.Second
	// DefaultOutboxResendInterval is how long an unacknowledged outbox item
	// waits before it is sent again on a live connection.
	DefaultOutboxResendInterval = 15 * time.Second
	// DefaultDouyinWWWOrigin is the origin of Douyin's main site.
	DefaultDouyinWWWOrigin = "https://www.douyin.com"
	// DefaultDouyinCreatorOrigin is the origin of Douyin's creator centre.
	DefaultDouyinCreatorOrigin = "https://creator.douyin.com"

	// MaxAccountsLimit is the largest accepted MaxAccounts.
	MaxAccountsLimit = 100
	// MaxWorkerNameLen is the longest accepted worker name, in characters.
	MaxWorkerNameLen = 64
	// workerIDPrefix starts every generated worker id.
	workerIDPrefix = "tw-"
)

// Config is the configuration of one appliance. The zero value is not usable;
// start from [New] or [Load].
type Config struct {
	// DataDir is the directory of the configuration file, the key file and
	// the appliance's other state. It is not stored in the file.
	DataDir string
	// MasterURL is the master's address, http(s) or ws(s). Empty until set up.
	MasterURL string
	// Token is the enrollment token issued by the master. It is a secret: it
	// is sealed with the data directory's key before it reaches the disk and
	// must never be logged.
	Token string
	// WorkerID identifies this appliance to the master. [Load] generates one
	// once and keeps it in the file so it stays stable across restarts.
	WorkerID string
	// WorkerName is the human name shown on the master's dashboard.
	WorkerName string
	// MaxAccounts is how many accounts this appliance accepts, 1 to
	// [MaxAccountsLimit].
	MaxAccounts int
	// SetupListen is the listen address of the local setup page (host:port).
	SetupListen string
	// HeartbeatInterval is the time between heartbeats; must be > 0.
	HeartbeatInterval time.Duration
	// ConnectTimeout bounds one connection attempt; must be > 0.
	ConnectTimeout time.Duration
	// ReconnectMin is the first reconnect delay; must be > 0.
	ReconnectMin time.Duration
	// ReconnectMax caps the reconnect delay; must be >= ReconnectMin.
	ReconnectMax time.Duration
	// ShutdownGrace bounds a clean shutdown; must be > 0.
	ShutdownGrace time.Duration
	// OutboxResendInterval is the wait before an unacknowledged outbox item is
	// sent again; must be > 0.
	OutboxResendInterval time.Duration
	// ChromiumPath is the browser binary. Empty means: search the usual places.
	ChromiumPath string
	// DouyinWWWOrigin is the origin of Douyin's main site (a fake one in tests).
	DouyinWWWOrigin string
	// DouyinCreatorOrigin is the origin of Douyin's creator centre.
	DouyinCreatorOrigin string
	// SetupPasswordHash is the bcrypt hash of the setup page's password.
	// Empty until the first-run wizard sets it.
	SetupPasswordHash string
}

// New returns a configuration with every default filled in and no worker id.
func New(dataDir string) *Config {
	return &Config{
		DataDir:              dataDir,
		MaxAccounts:          DefaultMaxAccounts,
		SetupListen:          DefaultSetupListen,
		HeartbeatInterval:    DefaultHeartbeatInterval,
		ConnectTimeout:       DefaultConnectTimeout,
		ReconnectMin:         DefaultReconnectMin,
		ReconnectMax:         DefaultReconnectMax,
		ShutdownGrace:        DefaultShutdownGrace,
		OutboxResendInterval: DefaultOutboxResendInterval,
		DouyinWWWOrigin:      DefaultDouyinWWWOrigin,
		DouyinCreatorOrigin:  DefaultDouyinCreatorOrigin,
	}
}

// Clone returns a copy of c that shares nothing with it.
func (c *Config) Clone() *Config {
	cp := *c
	return &cp
}

// Configured reports whether the first-run setup is complete: the master's
// address and the enrollment token are known and the setup password is set.
func (c *Config) Configured() bool {
	return c.MasterURL != "" && c.Token != "" && c.SetupPasswordHash != ""
}

// String describes c for logs. It never shows the token or the password hash.
func (c *Config) String() string {
	token := "unset"
	if c.Token != "" {
		token = "set"
	}
	return fmt.Sprintf("worker_id=%s worker_name=%q master=%s token=%s max_accounts=%d setup_listen=%s",
		c.WorkerID, c.WorkerName, c.MasterURL, token, c.MaxAccounts, c.SetupListen)
}

// FieldError is one invalid setting. Field is the setting's name as used in
// the file and in messages (snake_case, e.g. "max_accounts").
type FieldError struct {
	// Field names the setting.
	Field string
	// Problem says what is wrong, in words for a person.
	Problem string
}

// Error implements the error interface as "field: problem".
func (e *FieldError) Error() string {
	return e.Field + ": " + e.Problem
}

// workerIDPattern is what a worker id may look like: it becomes a Socket.IO
// room name and a log value, so keep it plain.
var workerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Problems returns every invalid setting of c, in field order; nil when c is
// valid. An empty MasterURL or Token is valid: the appliance is then simply
// not configured yet (see [Config.Configured]).
func (c *Config) Problems() []*FieldError {
	var probs []*FieldError
	add := func(field, problem string) {
		probs = append(probs, &FieldError{Field: field, Problem: problem})
	}

	if c.DataDir == "" {
		add("data", "must not be empty")
	}
	if c.MasterURL != "" {
		if err := checkURL(c.MasterURL, "http", "https", "ws", "wss"); err != nil {
			add("master", "must be an http(s) or ws(s) URL")
		}
	}
	if c.WorkerID != "" && !workerIDPattern.MatchString(c.WorkerID) {
		add("worker_id", "must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	if utf8.RuneCountInString(c.WorkerName) > MaxWorkerNameLen {
		add("worker_name", "must be at most "+strconv.Itoa(MaxWorkerNameLen)+" characters")
	}
	if c.MaxAccounts < 1 || c.MaxAccounts > MaxAccountsLimit {
		add("max_accounts", "must be between 1 and "+strconv.Itoa(MaxAccountsLimit))
	}
	if _, _, err := net.SplitHostPort(c.SetupListen); err != nil {
		add("setup_listen", "must be host:port, e.g. :7601")
	}
	for _, d := range []struct {
		field string
		value time.Duration
	}{
		{"heartbeat", c.HeartbeatInterval},
		{"connect_timeout", c.ConnectTimeout},
		{"reconnect_min", c.ReconnectMin},
		{"reconnect_max", c.ReconnectMax},
		{"shutdown_grace", c.ShutdownGrace},
		{"outbox_resend", c.OutboxResendInterval},
	} {
		if d.value <= 0 {
			add(d.field, "must be greater than 0")
		}
	}
	if c.ReconnectMin > 0 && c.ReconnectMax > 0 && c.ReconnectMax < c.ReconnectMin {
		add("reconnect_max", "must not be less than reconnect_min")
	}
	if err := checkURL(c.DouyinWWWOrigin, "http", "https"); err != nil {
		add("douyin_www_origin", "must be an http(s) URL")
	}
	if err := checkURL(c.DouyinCreatorOrigin, "http", "https"); err != nil {
		add("douyin_creator_origin", "must be an http(s) URL")
	}
	return probs
}

// Validate returns nil when c is valid, otherwise all problems joined; each
// one is a *[FieldError] whose message starts with the field's name.
func (c *Config) Validate() error {
	probs := c.Problems()
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// checkURL returns an error unless raw is an absolute URL with a host and one
// of the given schemes.
func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parsing url: %w", err)
	}
	if u.Host == "" {
		return errors.New("url has no host")
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("url scheme %q not accepted", u.Scheme)
}

// NewWorkerID returns a fresh random worker id such as "tw-1a2b3c4d5e6f7a8b".
func NewWorkerID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return workerIDPrefix + hex.EncodeToString(b[:]), nil
}
