package douyin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/crawler/browser"
)

// Defaults of Config.
const (
	// DefaultWWWOrigin is Douyin's main site: home page, notices, IM.
	DefaultWWWOrigin = "https://www.douyin.com"
	// DefaultCreatorOrigin is Douyin's creator centre.
	DefaultCreatorOrigin = "https://creator.douyin.com"
	// DefaultInterval is the poll interval when an account has none (the
	// contract's monitor_interval default).
	DefaultInterval = 30 * time.Second
	// DefaultJitter spreads each wait by ±20 %.
	DefaultJitter = 0.2
	// DefaultBacklogWindow reports items up to this long before the
	// assignment, so nothing falls between two appliances during a
	// failover; the master drops what it has already.
	DefaultBacklogWindow = 10 * time.Minute
	// DefaultNavigationTimeout bounds loading the home page.
	DefaultNavigationTimeout = 30 * time.Second
	// DefaultNoticeTimeout bounds waiting for the page's notice feed
	// request after the page loaded.
	DefaultNoticeTimeout = 15 * time.Second
	// DefaultBackoffBase is the first wait after a rate_limited or
	// network_error cycle; it doubles with each failure in a row.
	DefaultBackoffBase = 10 * time.Second
	// DefaultBackoffMax caps the backoff so that, with jitter, polling
	// resumes within a minute after the signal clears.
	DefaultBackoffMax = 50 * time.Second
	// DefaultCredentialsInterval is the least time between two sends of a
	// jar whose only changes are the cookies Douyin rolls on every load.
	DefaultCredentialsInterval = 10 * time.Minute
	// DefaultLoginPoll is how often a QR login looks at its page.
	DefaultLoginPoll = time.Second
	// DefaultProbeInterval is how often the page probe looks at the IM
	// store.
	DefaultProbeInterval = 500 * time.Millisecond
	// DefaultSeenRetention is how long seen ids are kept.
	DefaultSeenRetention = 30 * 24 * time.Hour
	// DefaultSeenFile is the seen-ids database in DataDir.
	DefaultSeenFile = "douyin-seen.db"
	// DefaultStopTimeout bounds the wait of a monitor for its tab to close
	// and its last jar to be handed over when it stops.
	DefaultStopTimeout = 10 * time.Second
)

// Config configures the Douyin factory. Zero fields mean their defaults.
type Config struct {
	// DataDir holds the seen-ids database and the browser profile.
	// Required.
	DataDir string
	// WWWOrigin is the main site's origin (scheme://host[:port]).
	WWWOrigin string
	// CreatorOrigin is the creator centre's origin.
	CreatorOrigin string
	// Browser configures the shared Chromium; nil means defaults. Its
	// DataDir and Logger default to this Config's.
	Browser *browser.Config
	// DefaultInterval is the poll interval of accounts that have none.
	DefaultInterval time.Duration
	// Jitter is the relative spread of each wait (0.2 = ±20 %); negative
	// means none.
	Jitter float64
	// BacklogWindow: items created before the assignment less this window
	// are the baseline, never reported. Negative means none.
	BacklogWindow time.Duration
	// NavigationTimeout bounds loading the home page.
	NavigationTimeout time.Duration
	// NoticeTimeout bounds waiting for the notice feed after the load.
	NoticeTimeout time.Duration
	// BackoffBase is the first backoff after a failed cycle.
	BackoffBase time.Duration
	// BackoffMax caps the backoff.
	BackoffMax time.Duration
	// CredentialsInterval is the least time between two sends of a jar in
	// which only rolling cookies changed; negative sends every change.
	CredentialsInterval time.Duration
	// ProbeInterval is how often the page probe reads the IM store.
	ProbeInterval time.Duration
	// LoginPoll is how often a QR login looks at its page for a new code
	// or the end of the login.
	LoginPoll time.Duration
	// SeenRetention is how long seen ids are kept.
	SeenRetention time.Duration
	// StopTimeout bounds a monitor's clean-up when it stops.
	StopTimeout time.Duration
	// Profile is the platform profile; DefaultProfile() when nil.
	Profile *Profile
	// Logger receives the adapter's logs; slog.Default() when nil. Cookie
	// values and signed URLs are never logged.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// withDefaults returns a validated copy of c with defaults filled in.
func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.DataDir == "" {
		return out, errors.New("douyin: data dir is required")
	}
	var err error
	if out.WWWOrigin, err = origin(out.WWWOrigin, DefaultWWWOrigin); err != nil {
		return out, fmt.Errorf("douyin: www origin: %w", err)
	}
	if out.CreatorOrigin, err = origin(out.CreatorOrigin, DefaultCreatorOrigin); err != nil {
		return out, fmt.Errorf("douyin: creator origin: %w", err)
	}
	set := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	set(&out.DefaultInterval, DefaultInterval)
	set(&out.BacklogWindow, DefaultBacklogWindow)
	set(&out.NavigationTimeout, DefaultNavigationTimeout)
	set(&out.NoticeTimeout, DefaultNoticeTimeout)
	set(&out.BackoffBase, DefaultBackoffBase)
	set(&out.BackoffMax, DefaultBackoffMax)
	set(&out.CredentialsInterval, DefaultCredentialsInterval)
	set(&out.ProbeInterval, DefaultProbeInterval)
	set(&out.LoginPoll, DefaultLoginPoll)
	set(&out.SeenRetention, DefaultSeenRetention)
	set(&out.StopTimeout, DefaultStopTimeout)
	if out.BacklogWindow < 0 {
		out.BacklogWindow = 0
	}
	if out.Jitter == 0 {
		out.Jitter = DefaultJitter
	}
	if out.Jitter < 0 {
		out.Jitter = 0
	}
	out.Jitter = min(out.Jitter, 0.9)
	if out.Profile == nil {
		out.Profile = DefaultProfile()
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	return out, nil
}

// origin validates an origin, def when empty, without a trailing slash.
func origin(s, def string) (string, error) {
	if s == "" {
		s = def
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) origin", s)
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" || u.RawQuery != "" {
		return "", fmt.Errorf("%q has a path or query", s)
	}
	return u.Scheme + "://" + u.Host, nil
}
