// Command tidewatch is the Tidewatch command-line client: it logs in to a
// master, watches the user's notifications as they arrive (catching up on
// everything missed while it was not running), marks them read, and lists
// accounts and workers.
//
// The session (server URL, token, expiry), a stable device id and the
// watch cursor live in the configuration directory, by default
// tidewatch/ under the user's configuration directory; --config or
// TIDEWATCH_CONFIG picks another. --server or TIDEWATCH_SERVER names the
// master. Exit codes: 0 success, 1 failure, 2 bad usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tidewatch/tidewatch/internal/cliflag"
	"golang.org/x/term"
)

// Build information, set with -ldflags "-X main.version=... -X main.commit=...
// -X main.date=...". These are the only package-level variables.
var version, commit, date = "dev", "none", "unknown"

// Exit codes, named here for the tests.
const (
	exitOK    = cliflag.ExitOK
	exitFail  = cliflag.ExitFail
	exitUsage = cliflag.ExitUsage
)

// progName prefixes every message.
const progName = "tidewatch"

// topUsage is the help of the command itself.
const topUsage = `Usage: tidewatch [--config DIR] [--server URL] <command> [flags]

Commands:
  login      log in to a master and keep the session
  watch      print notifications as they arrive, after catching up on missed ones
  read ID    mark notifications read on every device
  accounts   list monitored accounts
  workers    list appliances (admins only)
  logout     forget the session
  version    print version information

Global flags (also accepted after the command):
  --config DIR   configuration directory (env TIDEWATCH_CONFIG; default: tidewatch in the user config dir)
  --server URL   master URL (env TIDEWATCH_SERVER)

Run "tidewatch <command> --help" for the flags of a command.
`

// cli is one invocation: its streams, environment and clock.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	env    cliflag.LookupEnv
	// isTerminal reports whether stdin is a terminal, for the password
	// prompt.
	isTerminal func() bool
	// readPassword reads a password from the terminal without echo.
	readPassword func() ([]byte, error)
	// userConfigDir is os.UserConfigDir, replaceable in tests.
	userConfigDir func() (string, error)
	// hostname names the device by default.
	hostname func() (string, error)
	now      func() time.Time
}

// main runs the command and exits with its code. Signals are taken here:
// the Socket.IO client library installs its own handler, which swallows the
// first SIGINT or SIGTERM, so the program must end itself when told to.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.LookupEnv,
		isTerminal:    func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
		readPassword:  func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) },
		userConfigDir: os.UserConfigDir,
		hostname:      os.Hostname,
		now:           time.Now,
	}
	code := c.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches to a command and turns its error into an exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	return cliflag.ExitCode(c.stderr, progName, c.dispatch(ctx, args))
}

// dispatch parses the global flags and picks the command.
func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		args = []string{"version"}
	}
	g, rest, err := c.parseGlobal(args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		fmt.Fprint(c.stderr, topUsage)
		return cliflag.Usagef("a command is required")
	}
	cmd, rest := rest[0], rest[1:]
	switch cmd {
	case "login":
		return c.login(ctx, g, rest)
	case "logout":
		return c.logout(g, rest)
	case "watch":
		return c.watch(ctx, g, rest)
	case "read":
		return c.read(ctx, g, rest)
	case "accounts":
		return c.accounts(ctx, g, rest)
	case "workers":
		return c.workers(ctx, g, rest)
	case "version", "--version", "-version":
		fmt.Fprintf(c.stdout, "%s %s (commit %s, built %s)\n", progName, version, commit, date)
		return nil
	case "help", "--help", "-help", "-h":
		fmt.Fprint(c.stdout, topUsage)
		return cliflag.ErrHelpShown
	default:
		return cliflag.Usagef("unknown command %q; see --help", cmd)
	}
}
