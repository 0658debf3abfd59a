package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/tidewatch/tidewatch/appliance/config"
	"github.com/tidewatch/tidewatch/appliance/ossvc"
)

// serviceUsage is the help of the service commands.
const serviceUsage = `Usage: tidewatch-appliance install|uninstall|start|stop|restart|status [flags]

Controls the appliance's OS service. install writes the service unit (run
with the given data directory), enables and starts it, and prints the setup
page's address.

Flags:
`

// serviceOptions are the flags of the service commands.
type serviceOptions struct {
	data        string
	setupListen string
	user        string
}

// serviceFlags parses the service commands' flags.
func (c *cli) serviceFlags(args []string) (serviceOptions, error) {
	var o serviceOptions
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.StringVar(&o.data, "data", config.DefaultDataDir, "data directory the service runs with")
	fs.StringVar(&o.setupListen, "setup-listen", "", "setup page address the service runs with (default "+config.DefaultSetupListen+")")
	fs.StringVar(&o.user, "user", "", "system user the service runs as (default root)")
	if err := c.parseFlags(fs, serviceUsage, args); err != nil {
		return o, err
	}
	if v, ok := c.env(config.EnvName("data")); ok && v != "" && !isFlagSet(fs, "data") {
		o.data = v
	}
	abs, err := filepath.Abs(o.data)
	if err != nil {
		return o, usagef("--data: %s", err)
	}
	o.data = abs
	if o.setupListen != "" {
		if _, _, err := net.SplitHostPort(o.setupListen); err != nil {
			return o, usagef("--setup-listen: must be host:port")
		}
	}
	return o, nil
}

// isFlagSet reports whether a flag was given on the command line.
func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// manager builds the OS service manager for o.
func (c *cli) manager(o serviceOptions) (*ossvc.ServiceManager, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(bin); err == nil {
		bin = resolved
	}
	unit := &ossvc.UnitConfig{BinaryPath: bin, DataDir: o.data, User: o.user}
	if o.setupListen != "" {
		unit.ExtraArgs = []string{"--setup-listen", o.setupListen}
	}
	return ossvc.NewManager(&ossvc.ManagerConfig{Unit: unit})
}

// service runs one service action.
func (c *cli) service(ctx context.Context, action ossvc.Action, args []string) error {
	o, err := c.serviceFlags(args)
	if err != nil {
		return err
	}
	m, err := c.manager(o)
	if err != nil {
		return err
	}
	if err = m.Perform(ctx, action); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: %s done\n", progName, action)
	if action == ossvc.ActionInstall {
		listen := o.setupListen
		if listen == "" {
			listen = config.DefaultSetupListen
		}
		_, port, _ := net.SplitHostPort(listen)
		fmt.Fprintf(c.stdout, "Open the setup page at http://%s/ and enter the setup code from the service log\n"+
			"(journalctl -u %s).\n", net.JoinHostPort(lanAddress(), port), ossvc.DefaultServiceName)
	}
	return nil
}

// serviceStatus prints the service's state.
func (c *cli) serviceStatus(ctx context.Context, args []string) error {
	o, err := c.serviceFlags(args)
	if err != nil {
		return err
	}
	m, err := c.manager(o)
	if err != nil {
		return err
	}
	st, err := m.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, st)
	return nil
}
