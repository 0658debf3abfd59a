package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tidewatch/tidewatch/internal/cliflag"
	"github.com/tidewatch/tidewatch/master"
	"github.com/tidewatch/tidewatch/master/hub"
)

// serveUsage is the help of serve.
const serveUsage = `Usage: tidewatch-master serve --data DIR [flags]

Runs the master: REST API, Socket.IO for appliances and clients, metrics.
Stops cleanly on SIGINT or SIGTERM.
`

// serveOptions are the settings of serve.
type serveOptions struct {
	listen            string
	data              string
	logLevel          string
	logFormat         string
	heartbeatInterval time.Duration
	livenessTimeout   time.Duration
	disconnectGrace   time.Duration
	assignAckTimeout  time.Duration
	sweepInterval     time.Duration
	retention         time.Duration
	pruneInterval     time.Duration
	tokenTTL          time.Duration
	shutdownTimeout   time.Duration
	loginTimeout      time.Duration
	trustForwarded    bool
}

// serveCommand returns serve's flags bound to o, defaults filled in.
func serveCommand(o *serveOptions) *cliflag.Command {
	cmd := cliflag.New("serve", serveUsage)
	fs := cmd.Flags
	fs.StringVar(&o.listen, "listen", master.DefaultListen, "HTTP listen address (host:port; port 0 picks a free one)")
	fs.StringVar(&o.data, "data", "", "data directory: database and key files (required)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&o.trustForwarded, "trust-forwarded-for", false,
		"take the client address from X-Forwarded-For when the request comes from a loopback or private-network proxy (behind Caddy or nginx)")
	durations := []struct {
		p     *time.Duration
		name  string
		def   time.Duration
		usage string
	}{
		{&o.heartbeatInterval, "heartbeat-interval", hub.DefaultHeartbeatInterval, "heartbeat period workers are told to use"},
		{&o.livenessTimeout, "liveness-timeout", hub.DefaultLivenessTimeout, "silence after which a connected worker is offline"},
		{&o.disconnectGrace, "disconnect-grace", hub.DefaultDisconnectGrace, "how long a disconnected worker keeps its accounts"},
		{&o.assignAckTimeout, "assign-ack-timeout", hub.DefaultAssignAckTimeout, "wait for a task assignment ack before resending"},
		{&o.sweepInterval, "sweep-interval", hub.DefaultSweepInterval, "period of the liveness and assignment loop"},
		{&o.retention, "retention", master.DefaultRetention, "how long notifications and messages are kept"},
		{&o.pruneInterval, "prune-interval", master.DefaultPruneInterval, "how often old data is pruned"},
		{&o.tokenTTL, "token-ttl", master.DefaultTokenTTL, "lifetime of login tokens"},
		{&o.shutdownTimeout, "shutdown-timeout", master.DefaultShutdownTimeout, "time allowed for a clean shutdown"},
		{&o.loginTimeout, "login-timeout", hub.DefaultLoginTimeout, "how long a QR login waits for a scan"},
	}
	for _, d := range durations {
		fs.DurationVar(d.p, d.name, d.def, d.usage)
	}
	fs.VisitAll(func(f *flag.Flag) { cmd.AddEnv(f.Name) })
	return cmd
}

// parseServe parses serve's command line and environment and checks the
// result.
func (c *cli) parseServe(args []string) (serveOptions, error) {
	var o serveOptions
	cmd := serveCommand(&o)
	pos, err := cmd.Parse(args, c.stdout, c.env)
	if err != nil {
		return o, err
	}
	if err := cliflag.NoArgs("serve", pos); err != nil {
		return o, err
	}
	return o, o.validate()
}

// validate checks the options.
func (o *serveOptions) validate() error {
	if o.data == "" {
		return cliflag.Usagef("serve: --data (or %s) is required", cliflag.EnvName("data"))
	}
	if o.listen == "" {
		return cliflag.Usagef("serve: --listen must not be empty")
	}
	if _, err := parseLevel(o.logLevel); err != nil {
		return err
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return cliflag.Usagef("serve: --log-format must be text or json, not %q", o.logFormat)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"heartbeat-interval", o.heartbeatInterval}, {"liveness-timeout", o.livenessTimeout},
		{"disconnect-grace", o.disconnectGrace}, {"assign-ack-timeout", o.assignAckTimeout},
		{"sweep-interval", o.sweepInterval}, {"retention", o.retention}, {"prune-interval", o.pruneInterval},
		{"token-ttl", o.tokenTTL}, {"shutdown-timeout", o.shutdownTimeout},
	} {
		if d.d <= 0 {
			return cliflag.Usagef("serve: --%s must be positive, not %s", d.name, d.d)
		}
	}
	if o.livenessTimeout <= o.heartbeatInterval {
		return cliflag.Usagef("serve: --liveness-timeout (%s) must be longer than --heartbeat-interval (%s)",
			o.livenessTimeout, o.heartbeatInterval)
	}
	return nil
}

// parseLevel parses a log level name.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, cliflag.Usagef("serve: --log-level must be debug, info, warn or error, not %q", s)
	}
	return l, nil
}

// newLogger returns the serve logger writing to w.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// serve runs the master until SIGINT or SIGTERM.
func (c *cli) serve(ctx context.Context, args []string) error {
	o, err := c.parseServe(args)
	if err != nil {
		return err
	}
	log, err := newLogger(c.stderr, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, err := master.New(ctx, &master.Config{
		DataDir: o.data,
		Listen:  o.listen,
		Logger:  log,
		Hub: hub.Config{
			HeartbeatInterval: o.heartbeatInterval,
			LivenessTimeout:   o.livenessTimeout,
			DisconnectGrace:   o.disconnectGrace,
			AssignAckTimeout:  o.assignAckTimeout,
			SweepInterval:     o.sweepInterval,
			LoginTimeout:      o.loginTimeout,
		},
		TrustForwardedFor: o.trustForwarded,
		Retention:         o.retention,
		PruneInterval:     o.pruneInterval,
		TokenTTL:          o.tokenTTL,
		Version:           version,
	})
	if err != nil {
		return fmt.Errorf("starting master: %w", err)
	}
	log.InfoContext(ctx, "starting", "version", version, "commit", commit)
	if err := srv.Start(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return fmt.Errorf("starting master: %w", err)
	}

	<-ctx.Done()
	stop() // a second signal now kills the process the default way
	log.Info("shutting down", "timeout", o.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	log.Info("stopped")
	return nil
}
