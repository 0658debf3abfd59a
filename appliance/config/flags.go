package config

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts the name of every environment variable read here. The rest
// of the name is the flag's name in upper case with '-' replaced by '_', e.g.
// --max-accounts ↔ TIDEWATCH_MAX_ACCOUNTS.
const EnvPrefix = "TIDEWATCH_"

// LookupEnv looks up one environment variable; [os.LookupEnv] in production,
// a map in tests.
type LookupEnv func(key string) (string, bool)

// option is one setting that can come from a flag or the environment.
type option struct {
	// name is the flag's name without dashes.
	name string
	// usage is the flag's help text.
	usage string
	// apply parses raw and stores it in cfg.
	apply func(cfg *Config, raw string) error
}

// stringOpt returns the apply func of a string setting.
func stringOpt(field func(*Config) *string) func(*Config, string) error {
	return func(cfg *Config, raw string) error {
		*field(cfg) = raw
		return nil
	}
}

// durationOpt returns the apply func of a duration setting.
func durationOpt(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(cfg *Config, raw string) error {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("want a duration such as 10s: %w", err)
		}
		*field(cfg) = d
		return nil
	}
}

// options lists every setting of the command line, in help order.
var options = []option{
	{"data", "data directory (config file, key file, outbox)", stringOpt(func(c *Config) *string { return &c.DataDir })},
	{"master", "master URL, http(s):// or ws(s)://", stringOpt(func(c *Config) *string { return &c.MasterURL })},
	{"token", "enrollment token from the master (prefer " + EnvPrefix + "TOKEN: flags are visible to other local users)",
		stringOpt(func(c *Config) *string { return &c.Token })},
	{"worker-id", "worker id (default: generated once and kept)", stringOpt(func(c *Config) *string { return &c.WorkerID })},
	{"worker-name", "worker name shown on the master", stringOpt(func(c *Config) *string { return &c.WorkerName })},
	{"max-accounts", "accounts this appliance accepts (1-" + strconv.Itoa(MaxAccountsLimit) + ")", func(c *Config, raw string) error {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Errorf("want a whole number: %w", err)
		}
		c.MaxAccounts = n
		return nil
	}},
	{"setup-listen", "listen address of the setup page", stringOpt(func(c *Config) *string { return &c.SetupListen })},
	{"heartbeat", "heartbeat interval", durationOpt(func(c *Config) *time.Duration { return &c.HeartbeatInterval })},
	{"connect-timeout", "timeout of one connection attempt", durationOpt(func(c *Config) *time.Duration { return &c.ConnectTimeout })},
	{"reconnect-min", "first reconnect delay", durationOpt(func(c *Config) *time.Duration { return &c.ReconnectMin })},
	{"reconnect-max", "largest reconnect delay", durationOpt(func(c *Config) *time.Duration { return &c.ReconnectMax })},
	{"shutdown-grace", "time allowed for a clean shutdown", durationOpt(func(c *Config) *time.Duration { return &c.ShutdownGrace })},
	{"outbox-resend", "resend interval of unacknowledged outbox items", durationOpt(func(c *Config) *time.Duration { return &c.OutboxResendInterval })},
	{"chromium", "Chromium binary (default: search the usual places)", stringOpt(func(c *Config) *string { return &c.ChromiumPath })},
	{"douyin-www-origin", "origin of Douyin's main site", stringOpt(func(c *Config) *string { return &c.DouyinWWWOrigin })},
	{"douyin-creator-origin", "origin of Douyin's creator centre", stringOpt(func(c *Config) *string { return &c.DouyinCreatorOrigin })},
}

// EnvName returns the environment variable that stands in for a flag, e.g.
// "max-accounts" → "TIDEWATCH_MAX_ACCOUNTS".
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// flagValue is a flag.Value that checks its text when parsed, so a bad value
// fails at flag parsing with the flag's name, and remembers it for Apply.
type flagValue struct {
	opt *option
	raw string
}

// String implements flag.Value.
func (v *flagValue) String() string {
	if v == nil || v.opt == nil || v.opt.name == "token" {
		// Never echo a token, not even in usage output.
		return ""
	}
	return v.raw
}

// Set implements flag.Value.
func (v *flagValue) Set(raw string) error {
	if err := v.opt.apply(New(""), raw); err != nil {
		return err
	}
	v.raw = raw
	return nil
}

// Flags is the set of configuration flags registered on one flag.FlagSet.
type Flags struct {
	fs     *flag.FlagSet
	values map[string]*flagValue
}

// RegisterFlags registers every configuration flag (--data, --master,
// --token, --worker-id, --worker-name, --max-accounts, --setup-listen,
// --heartbeat, --connect-timeout, --reconnect-min, --reconnect-max,
// --shutdown-grace, --outbox-resend, --chromium, --douyin-www-origin,
// --douyin-creator-origin) on fs. Parse fs, then call [Flags.Apply] or
// [LoadLayered].
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs, values: make(map[string]*flagValue, len(options))}
	for i := range options {
		opt := &options[i]
		v := &flagValue{opt: opt}
		f.values[opt.name] = v
		fs.Var(v, opt.name, opt.usage+" (env "+EnvName(opt.name)+")")
	}
	return f
}

// lookup returns the layered raw value of one option: the flag when it was
// set explicitly, else a non-empty environment variable.
func (f *Flags) lookup(name string, env LookupEnv) (raw, source string, ok bool) {
	set := false
	f.fs.Visit(func(fl *flag.Flag) {
		if fl.Name == name {
			set = true
		}
	})
	if set {
		return f.values[name].raw, "--" + name, true
	}
	if env != nil {
		if v, found := env(EnvName(name)); found && v != "" {
			return v, EnvName(name), true
		}
	}
	return "", "", false
}

// DataDir returns the data directory: --data, else TIDEWATCH_DATA, else
// [DefaultDataDir].
func (f *Flags) DataDir(env LookupEnv) string {
	if raw, _, ok := f.lookup("data", env); ok {
		return raw
	}
	return DefaultDataDir
}

// Apply overlays the environment and then the explicitly set flags on cfg
// (file < environment < flags). env may be nil. An environment variable that
// is empty counts as unset. An error names the flag or variable at fault.
func (f *Flags) Apply(cfg *Config, env LookupEnv) error {
	for i := range options {
		opt := &options[i]
		raw, source, ok := f.lookup(opt.name, env)
		if !ok {
			continue
		}
		if err := opt.apply(cfg, raw); err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
	}
	return nil
}

// LoadLayered loads the configuration file of the data directory chosen by
// the flags and environment, overlays the environment and the flags, and
// validates the result. fs must have been parsed.
func LoadLayered(f *Flags, env LookupEnv) (*Config, error) {
	cfg, err := Load(f.DataDir(env))
	if err != nil {
		return nil, err
	}
	if err = f.Apply(cfg, env); err != nil {
		return nil, fmt.Errorf("applying overrides: %w", err)
	}
	if err = cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	return cfg, nil
}
