// Command tidewatch-appliance is the Tidewatch worker: it keeps one
// connection to the master, runs a monitor for each account the master
// assigns, and serves a setup page on the LAN.
//
// Commands: run (the service itself), install | uninstall | start | stop |
// restart | status (the OS service), selftest (print the figures a
// heartbeat would carry, as JSON) and version. Settings come from the
// configuration file in the data directory, overridden by TIDEWATCH_*
// environment variables and then by flags.
//
// Exit codes: 0 stopped normally, 1 failure, 2 bad usage or configuration,
// 150 stopped at the master's request (the service is not restarted).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tidewatch/tidewatch/appliance/config"
	"github.com/tidewatch/tidewatch/appliance/ossvc"
)

// Build information, set with -ldflags "-X main.version=... -X main.commit=...
// -X main.date=...". These are the only package-level variables.
var version, commit, date = "dev", "none", "unknown"

// Exit codes besides ossvc's.
const (
	exitUsage = 2
)

// progName prefixes every message.
const progName = "tidewatch-appliance"

// topUsage is the help of the command itself.
const topUsage = `Usage: tidewatch-appliance <command> [flags]

Commands:
  run         run the appliance (what the service runs)
  install     install and start the OS service, print the setup page address
  uninstall   stop and remove the OS service
  start       start the OS service
  stop        stop the OS service
  restart     restart the OS service
  status      print the OS service's state
  selftest    print the figures a heartbeat would carry, as JSON
  version     print version information

Run "tidewatch-appliance <command> --help" for the flags of a command.
Flags may also be set as ` + config.EnvPrefix + `<FLAG> environment variables.
`

// cli is one invocation: its streams and environment.
type cli struct {
	stdout io.Writer
	stderr io.Writer
	env    config.LookupEnv
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

// Error implements error.
func (e *exitError) Error() string {
	if e.err == nil {
		return "exit " + fmt.Sprint(e.code)
	}
	return e.err.Error()
}

// Unwrap returns the cause.
func (e *exitError) Unwrap() error { return e.err }

// usagef returns an error that exits with exitUsage.
func usagef(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// errHelpShown means help was asked for and printed: exit 0.
var errHelpShown = errors.New("help shown")

// main runs the command and exits with its code.
func main() {
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, env: os.LookupEnv}
	os.Exit(c.run(context.Background(), os.Args[1:]))
}

// run dispatches to a command and turns its error into an exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	err := c.dispatch(ctx, args)
	var ee *exitError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return ossvc.ExitOK
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(c.stderr, "%s: %s\n", progName, ee.err)
		}
		return ee.code
	default:
		fmt.Fprintf(c.stderr, "%s: %s\n", progName, err)
		return ossvc.ExitFailure
	}
}

// dispatch picks the command.
func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, topUsage)
		return usagef("a command is required")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return c.runAppliance(ctx, rest)
	case "install", "uninstall", "start", "stop", "restart":
		return c.service(ctx, ossvc.Action(cmd), rest)
	case "status":
		return c.serviceStatus(ctx, rest)
	case "selftest":
		return c.selftest(ctx, rest)
	case "version", "--version", "-version":
		fmt.Fprintf(c.stdout, "%s %s (commit %s, built %s)\n", progName, version, commit, date)
		return nil
	case "help", "--help", "-help", "-h":
		fmt.Fprint(c.stdout, topUsage)
		return errHelpShown
	default:
		return usagef("unknown command %q; see --help", cmd)
	}
}

// parseFlags parses args into fs, answering --help with its usage.
func (c *cli) parseFlags(fs interface {
	Parse([]string) error
	Args() []string
	PrintDefaults()
	SetOutput(io.Writer)
}, usage string, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case err != nil && strings.Contains(err.Error(), "help requested"):
		fmt.Fprint(c.stdout, usage)
		fs.SetOutput(c.stdout)
		fs.PrintDefaults()
		return errHelpShown
	case err != nil:
		return usagef("%s", err)
	case len(fs.Args()) > 0:
		return usagef("unexpected arguments %q", fs.Args())
	}
	return nil
}
