package browser

import (
	"log/slog"
	"maps"
	"strings"
	"time"
)

// Defaults of Config.
const (
	// DefaultUserAgent replaces the "HeadlessChrome" user agent, which
	// sites use to spot automation, with the one of a desktop Chrome.
	DefaultUserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36"
	// DefaultDisableFeatures are Chromium features switched off to save
	// memory. The first ones matter most: new headless mode opens each
	// browser context in a window with browser-UI renderers, and without
	// them a context costs one renderer less. The others are services a
	// crawler never uses (back/forward cache, prerendering, casting,
	// translation, optimisation hints, autofill lookups) that hold memory
	// or fetch in the background. The names change between Chromium
	// versions; unknown names are ignored.
	DefaultDisableFeatures = "WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup,SpareRendererForSitePerProcess," +
		"BackForwardCache,Prerender2,NetworkPrediction,PaintHolding,MediaRouter,DialMediaRouteProvider," +
		"Translate,OptimizationHints,OptimizationHintsFetching,OptimizationGuideModelDownloading," +
		"AutofillServerCommunication,InterestFeedContentSuggestions,HeavyAdIntervention,LensOverlay"
	// DefaultProfileDirName is the user-data-dir below Config.DataDir.
	DefaultProfileDirName = "chromium-profile"
	// DefaultStartTimeout bounds the start of Chromium.
	DefaultStartTimeout = 30 * time.Second
	// DefaultTabTimeout bounds the opening of a tab.
	DefaultTabTimeout = 20 * time.Second
	// DefaultHealthInterval is how often the browser is pinged.
	DefaultHealthInterval = 15 * time.Second
	// DefaultHealthTimeout is how long a ping may take.
	DefaultHealthTimeout = 10 * time.Second
	// DefaultHangThreshold is how many failed pings in a row mean a hang.
	DefaultHangThreshold = 2
	// DefaultMemoryLimitMB is the PSS ceiling of the Chromium tree above
	// which the browser restarts at a quiet moment.
	DefaultMemoryLimitMB = 800
	// DefaultMemoryCheckInterval is how often the PSS is read.
	DefaultMemoryCheckInterval = time.Minute
	// DefaultMaxAge restarts a browser that has run this long, because
	// Chromium's memory creeps up over days.
	DefaultMaxAge = 24 * time.Hour
	// DefaultRestartDelay is the first pause before starting again after a
	// crash; it doubles with each crash in a row up to DefaultMaxRestartDelay.
	DefaultRestartDelay = time.Second
	// DefaultMaxRestartDelay caps the pause between crash restarts.
	DefaultMaxRestartDelay = time.Minute
	// DefaultShutdownTimeout bounds a graceful browser close.
	DefaultShutdownTimeout = 5 * time.Second
)

// Config configures a Browser. Zero durations and limits mean their
// defaults; negative ones switch the feature off where said.
type Config struct {
	// ExecPath is the Chromium binary. Empty means the first of chromium,
	// chromium-browser and google-chrome on PATH; a distribution's shell
	// wrapper is replaced by the real binary beside it when there is one.
	ExecPath string
	// DataDir is the directory that holds the browser profile (a
	// subdirectory DefaultProfileDirName, emptied at every start). Required.
	DataDir string
	// DisableFeatures lists the Chromium features to switch off. Nil means
	// DefaultDisableFeatures; an empty non-nil slice switches none off.
	DisableFeatures []string
	// ExtraFlags are more command line switches, without the leading
	// dashes. They come on top of DefaultMemoryFlags and win over them; a
	// value of false removes a default switch, one of those included.
	ExtraFlags map[string]any
	// UserAgent is the user agent of every tab; DefaultUserAgent when empty.
	UserAgent string
	// NoSandbox forces --no-sandbox; it is set anyway when running as root,
	// where Chromium refuses to start with the sandbox.
	NoSandbox bool
	// StartTimeout bounds the start of Chromium.
	StartTimeout time.Duration
	// TabTimeout bounds the opening of a tab.
	TabTimeout time.Duration
	// HealthInterval is how often the browser is pinged to detect a hang;
	// negative switches the ping off.
	HealthInterval time.Duration
	// HealthTimeout is how long one ping may take.
	HealthTimeout time.Duration
	// HangThreshold is how many failed pings in a row count as a hang.
	HangThreshold int
	// MemoryLimitMB is the PSS ceiling of the whole Chromium tree; above it
	// the browser restarts at the next quiet moment. Negative: no ceiling.
	MemoryLimitMB int
	// MemoryCheckInterval is how often the PSS is read for the ceiling.
	MemoryCheckInterval time.Duration
	// MaxAge restarts the browser at a quiet moment after it ran this
	// long. Negative: never.
	MaxAge time.Duration
	// RestartDelay is the first pause before a start after a crash.
	RestartDelay time.Duration
	// MaxRestartDelay caps the pause between starts after crashes.
	MaxRestartDelay time.Duration
	// Logger receives the browser's logs; slog.Default() when nil.
	Logger *slog.Logger
}

// DefaultMemoryFlags returns the switches, without the leading dashes,
// that trim Chromium's memory below what its own defaults use. Measured with
// ten accounts on a fake site they save about 60 MB of the tree's ~630 MB:
// compositing in software drops the GPU process's GL state (~15 MB), and
// V8 tuned for size with a small young generation and no optimising
// compiler shrinks every renderer (~3 MB each). Without the optimising compiler script runs slower: the fake
// site's polls cost no more CPU, but if the real site's heavier script
// does, set ExtraFlags["js-flags"] without --lite-mode. A new map each
// call, so callers may change it.
func DefaultMemoryFlags() map[string]any {
	return map[string]any{
		"disable-gpu-compositing":     true,
		"disable-software-rasterizer": true,
		"js-flags":                    "--optimize-for-size --max-semi-space-size=1 --lite-mode",
	}
}

// withDefaults returns a copy of c with zero fields set to defaults.
func (c *Config) withDefaults() Config {
	out := *c
	// A fresh map: the caller's ExtraFlags must not change.
	flags := DefaultMemoryFlags()
	maps.Copy(flags, c.ExtraFlags)
	out.ExtraFlags = flags
	if out.DisableFeatures == nil {
		out.DisableFeatures = strings.Split(DefaultDisableFeatures, ",")
	}
	if out.UserAgent == "" {
		out.UserAgent = DefaultUserAgent
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setDur(&out.StartTimeout, DefaultStartTimeout)
	setDur(&out.TabTimeout, DefaultTabTimeout)
	setDur(&out.HealthInterval, DefaultHealthInterval)
	setDur(&out.HealthTimeout, DefaultHealthTimeout)
	setDur(&out.MemoryCheckInterval, DefaultMemoryCheckInterval)
	setDur(&out.MaxAge, DefaultMaxAge)
	setDur(&out.RestartDelay, DefaultRestartDelay)
	setDur(&out.MaxRestartDelay, DefaultMaxRestartDelay)
	if out.HangThreshold <= 0 {
		out.HangThreshold = DefaultHangThreshold
	}
	if out.MemoryLimitMB == 0 {
		out.MemoryLimitMB = DefaultMemoryLimitMB
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	return out
}
