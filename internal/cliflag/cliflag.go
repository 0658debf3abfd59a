// Package cliflag is the command-line scaffolding shared by the Tidewatch
// programs: exit codes, usage errors, per-command flag sets with help text,
// a parse loop that lets positional arguments sit between flags, and
// TIDEWATCH_<FLAG> environment variables standing in for flags the command
// line left unset.
package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes of every Tidewatch program.
const (
	// ExitOK is success, including help that was asked for.
	ExitOK = 0
	// ExitFail is any failure that is not bad usage.
	ExitFail = 1
	// ExitUsage is a mistake on the command line.
	ExitUsage = 2
)

// EnvPrefix starts the environment variable of every flag.
const EnvPrefix = "TIDEWATCH_"

// UsageError is a mistake on the command line; it exits with ExitUsage.
type UsageError struct{ msg string }

// Error implements error.
func (e *UsageError) Error() string { return e.msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// constError is an error that can be a constant, so sentinels need no
// package-level variable.
type constError string

// Error implements error.
func (e constError) Error() string { return string(e) }

// ErrHelpShown means help was asked for and printed: exit ExitOK.
const ErrHelpShown constError = "help shown"

// ExitCode turns the error of a run into an exit code, writing
// "<prog>: <message>" to stderr for anything but success and shown help.
func ExitCode(stderr io.Writer, prog string, err error) int {
	var ue *UsageError
	switch {
	case err == nil, errors.Is(err, ErrHelpShown):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s\n", prog, ue.msg)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "%s: %s\n", prog, err)
		return ExitFail
	}
}

// LookupEnv looks up one environment variable: os.LookupEnv in production,
// a map in tests.
type LookupEnv func(key string) (string, bool)

// EnvName returns the environment variable standing in for a flag, e.g.
// "heartbeat-interval" → "TIDEWATCH_HEARTBEAT_INTERVAL".
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Command is one (sub)command's flag set and help.
type Command struct {
	// Flags is the command's flag set; callers define their flags on it.
	// It reports nothing by itself: Parse does the reporting.
	Flags *flag.FlagSet
	// usage is the first lines of the help, before the flags.
	usage string
	// envFlags are the flags that may come from the environment. Flags
	// not listed never do, so that a stray variable cannot, say, quietly
	// make someone an admin.
	envFlags []string
}

// New returns a command with an empty flag set; envFlags name the flags
// that may come from the environment.
func New(name, usage string, envFlags ...string) *Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &Command{Flags: fs, usage: usage, envFlags: envFlags}
}

// AddEnv lets more flags come from the environment.
func (c *Command) AddEnv(names ...string) {
	c.envFlags = append(c.envFlags, names...)
}

// PrintHelp writes the help of the command: its usage, its flags and the
// environment variables that stand in for them.
func (c *Command) PrintHelp(w io.Writer) {
	fmt.Fprint(w, c.usage)
	fmt.Fprintln(w, "\nFlags:")
	c.Flags.SetOutput(w)
	c.Flags.PrintDefaults()
	c.Flags.SetOutput(io.Discard)
	if len(c.envFlags) > 0 {
		names := make([]string, len(c.envFlags))
		for i, f := range c.envFlags {
			names[i] = EnvName(f)
		}
		fmt.Fprintf(w, "\nEnvironment (used when the flag is not given): %s\n", strings.Join(names, ", "))
	}
}

// Parse parses the command line, then sets every env-capable flag the
// command line left unset from env, and returns the positional arguments
// (which may sit between flags). --help prints the help to stdout and
// returns ErrHelpShown; a nil env means no environment.
func (c *Command) Parse(args []string, stdout io.Writer, env LookupEnv) ([]string, error) {
	var pos []string
	for {
		err := c.Flags.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.PrintHelp(stdout)
			return nil, ErrHelpShown
		}
		if err != nil {
			return nil, Usagef("%s: %s (see --help)", c.Flags.Name(), err)
		}
		args = c.Flags.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if env == nil {
		return pos, nil
	}
	if err := applyEnv(c.Flags, env, c.envFlags); err != nil {
		return nil, err
	}
	return pos, nil
}

// applyEnv sets each named flag that was not set on the command line from
// its environment variable, if that is set.
func applyEnv(fs *flag.FlagSet, env LookupEnv, names []string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range names {
		if set[name] {
			continue
		}
		v, ok := env(EnvName(name))
		if !ok {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return Usagef("invalid value %q for %s: %s", v, EnvName(name), err)
		}
	}
	return nil
}

// NoArgs fails with a usage error when a command that takes no arguments
// got some.
func NoArgs(name string, pos []string) error {
	if len(pos) > 0 {
		return Usagef("%s takes no arguments, got %q", name, strings.Join(pos, " "))
	}
	return nil
}
