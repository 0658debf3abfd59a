package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/tidewatch/tidewatch/appliance/agent"
	"github.com/tidewatch/tidewatch/appliance/agent/testmonitor"
	"github.com/tidewatch/tidewatch/appliance/config"
	"github.com/tidewatch/tidewatch/appliance/logring"
	"github.com/tidewatch/tidewatch/appliance/ossvc"
	"github.com/tidewatch/tidewatch/appliance/setupweb"
	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/crawler/browser"
	"github.com/tidewatch/tidewatch/crawler/douyin"
)

// runUsage is the help of run.
const runUsage = `Usage: tidewatch-appliance run [flags]

Runs the appliance: the link to the master, the monitors and the setup page.
Until it is set up, only the setup page does anything; the one-time setup
code is printed in the log. Stops on SIGINT or SIGTERM.

Flags:
`

// douyinDir is the Douyin monitors' directory inside the data directory:
// seen ids and the browser profile.
const douyinDir = "douyin"

// testMonitorDir is the directory of the test monitor's files inside the
// data directory.
const testMonitorDir = "testmonitor"

// runOptions are run's flags besides the configuration's.
type runOptions struct {
	logLevel    string
	testMonitor bool
}

// runAppliance is the run command.
func (c *cli) runAppliance(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	flags := config.RegisterFlags(fs)
	var o runOptions
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&o.testMonitor, "test-monitor", false,
		"FOR TESTS ONLY: monitor files under <data>/"+testMonitorDir+" instead of real platforms")
	if err := c.parseFlags(fs, runUsage, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usagef("--log-level: %s", err)
	}
	cfg, err := config.LoadLayered(flags, c.env)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}

	ring := logring.New(0)
	log := slog.New(logring.NewHandler(ring, slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}),
		&logring.Options{Level: level}))

	// The Socket.IO client swallows the first SIGINT/SIGTERM of the
	// process, so the program takes the signals itself.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	factories, err := c.factories(cfg, &o, log)
	if err != nil {
		return err
	}
	a, web, err := c.build(ctx, cfg, flags, factories, ring, log)
	if err != nil {
		return err
	}
	if err = web.Start(ctx); err != nil {
		return fmt.Errorf("starting setup page: %w", err)
	}
	if err = a.Start(ctx); err != nil {
		c.shutdown(cfg, log, a, web)
		return fmt.Errorf("starting: %w", err)
	}
	log.InfoContext(ctx, "appliance running", "version", version, "config", cfg.String(),
		"setup_page", setupURL(web.Addr()), "capabilities", a.Capabilities())

	code := ossvc.ExitOK
	select {
	case <-ctx.Done():
		stop() // a second signal now kills the process the default way
		log.Info("stopping on signal")
	case <-a.Done():
		log.Warn("stopping at the master's request; the service stays stopped")
		code = ossvc.ExitShutdownRequested
	}
	c.shutdown(cfg, log, a, web)
	if code != ossvc.ExitOK {
		return &exitError{code: code}
	}
	return nil
}

// build constructs the agent and the setup page around it.
func (c *cli) build(ctx context.Context, cfg *config.Config, flags *config.Flags, factories []crawler.Factory,
	ring *logring.Ring, log *slog.Logger,
) (*agent.Agent, *setupweb.Server, error) {
	var web *setupweb.Server
	a, err := agent.New(&agent.Config{
		App: cfg, Factories: factories, Ring: ring, Logger: log, Version: version,
		SetupPort: func() int { return portOf(web.Addr()) },
	})
	if err != nil {
		return nil, nil, err
	}
	code := ""
	if !cfg.Configured() {
		if code, err = setupweb.NewSetupCode(); err != nil {
			return nil, nil, fmt.Errorf("making setup code: %w", err)
		}
	}
	web, err = setupweb.New(&setupweb.Config{
		Store:     &config.Store{Dir: cfg.DataDir},
		Applier:   &layeredApplier{a: a, flags: flags, env: c.env},
		Tester:    a,
		Status:    a,
		Listen:    cfg.SetupListen,
		Logger:    log,
		SetupCode: code,
		Version:   version,
	})
	if err != nil {
		return nil, nil, err
	}
	if code != "" {
		log.WarnContext(ctx, "not set up yet: open the setup page and enter the setup code",
			"setup_code", code, "listen", cfg.SetupListen)
	}
	return a, web, nil
}

// shutdown stops the setup page and the agent within the shutdown grace.
func (c *cli) shutdown(cfg *config.Config, log *slog.Logger, a *agent.Agent, web *setupweb.Server) {
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := errors.Join(web.Shutdown(sctx), a.Shutdown(sctx)); err != nil {
		log.Warn("shutting down", "err", err)
	}
	log.Info("stopped")
}

// factories returns the monitor factories of this build.
func (c *cli) factories(cfg *config.Config, o *runOptions, log *slog.Logger) ([]crawler.Factory, error) {
	if o.testMonitor {
		log.Warn("test monitor enabled: accounts are driven by files, not by a platform",
			"dir", filepath.Join(cfg.DataDir, testMonitorDir))
		f, err := testmonitor.New(&testmonitor.Config{Dir: filepath.Join(cfg.DataDir, testMonitorDir), Logger: log})
		if err != nil {
			return nil, err
		}
		return []crawler.Factory{f}, nil
	}
	f, err := douyin.NewFactory(&douyin.Config{
		DataDir:       filepath.Join(cfg.DataDir, douyinDir),
		WWWOrigin:     cfg.DouyinWWWOrigin,
		CreatorOrigin: cfg.DouyinCreatorOrigin,
		Browser:       &browser.Config{ExecPath: cfg.ChromiumPath},
		Logger:        log,
	})
	if err != nil {
		return nil, fmt.Errorf("douyin monitor: %w", err)
	}
	return []crawler.Factory{f}, nil
}

// layeredApplier applies settings from the setup page with the environment
// and flags laid over them again, so a page save never undoes a flag.
type layeredApplier struct {
	a     *agent.Agent
	flags *config.Flags
	env   config.LookupEnv
}

// Apply implements setupweb.Applier.
func (l *layeredApplier) Apply(ctx context.Context, cfg *config.Config) error {
	next := cfg.Clone()
	if err := l.flags.Apply(next, l.env); err != nil {
		return err
	}
	return l.a.Apply(ctx, next)
}

// portOf returns the port of a listening address, or 0.
func portOf(addr net.Addr) int {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.Port
	}
	return 0
}

// setupURL is the address to open the setup page at.
func setupURL(addr net.Addr) string {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := ta.IP.String()
	if ta.IP.IsUnspecified() {
		host = lanAddress()
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(ta.Port)) + "/"
}

// lanAddress returns the first private IPv4 address of the machine, or
// "localhost".
func lanAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "localhost"
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return ipn.IP.String()
		}
	}
	return "localhost"
}
