// Command tidewatch-master runs the Tidewatch master (serve) and manages its
// data directory offline: users (user add, user list) and appliance
// enrollment tokens (token create, token list, token revoke).
//
// Every flag of serve, and --data of every command, may also come from the
// environment as TIDEWATCH_<FLAG NAME> (upper case, '-' as '_'), e.g.
// TIDEWATCH_DATA or TIDEWATCH_HEARTBEAT_INTERVAL; a flag given on the
// command line wins. Exit codes: 0 success, 1 failure, 2 bad usage.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/tidewatch/tidewatch/internal/cliflag"
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

// envPrefix starts the environment variable of every flag.
const envPrefix = cliflag.EnvPrefix

// usageError is a mistake on the command line; it exits with exitUsage.
type usageError = cliflag.UsageError

// progName prefixes every message.
const progName = "tidewatch-master"

// topUsage is the help of the command itself.
const topUsage = `Usage: tidewatch-master <command> [flags]

Commands:
  serve          run the master
  user add       add a user (password read from standard input)
  user list      list users
  token create   create an appliance enrollment token (printed once, last line of stdout)
  token list     list enrollment tokens
  token revoke   revoke an enrollment token
  account login  log an account in by QR code through a running master
  version        print version information

Run "tidewatch-master <command> --help" for the flags of a command.
Flags may also be set as TIDEWATCH_<FLAG> environment variables.
`

// cli is one invocation: its streams and environment.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	env    cliflag.LookupEnv
}

// main runs the command and exits with its code.
func main() {
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.LookupEnv}
	os.Exit(c.run(context.Background(), os.Args[1:]))
}

// run dispatches to a command and turns its error into an exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	return cliflag.ExitCode(c.stderr, progName, c.dispatch(ctx, args))
}

// dispatch picks the command.
func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, topUsage)
		return cliflag.Usagef("a command is required")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return c.serve(ctx, rest)
	case "user", "token", "account":
		if len(rest) == 0 {
			return cliflag.Usagef("%s needs a subcommand; see --help", cmd)
		}
		return c.sub(ctx, cmd+" "+rest[0], rest[1:])
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

// sub runs a two-word command.
func (c *cli) sub(ctx context.Context, name string, args []string) error {
	switch name {
	case "user add":
		return c.userAdd(ctx, args)
	case "user list":
		return c.userList(ctx, args)
	case "token create":
		return c.tokenCreate(ctx, args)
	case "token list":
		return c.tokenList(ctx, args)
	case "token revoke":
		return c.tokenRevoke(ctx, args)
	case "account login":
		return c.accountLogin(ctx, args)
	default:
		return cliflag.Usagef("unknown command %q; see --help", name)
	}
}

// offlineLogger is the logger of the offline commands: warnings only, so
// their output stays readable.
func (c *cli) offlineLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
