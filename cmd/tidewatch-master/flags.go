package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "TIDEWATCH_"

// lookupEnv looks up one environment variable: os.LookupEnv in production,
// a map in tests.
type lookupEnv func(key string) (string, bool)

// envName returns the environment variable standing in for a flag, e.g.
// "heartbeat-interval" → "TIDEWATCH_HEARTBEAT_INTERVAL".
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// command is one (sub)command's flag set and help.
type command struct {
	fs *flag.FlagSet
	// usage is the first lines of the help, before the flags.
	usage string
	// envFlags are the flags that may come from the environment. Flags
	// like --admin are left out on purpose: a stray variable must not
	// quietly make someone an admin.
	envFlags []string
}

// newCommand returns a command with an empty flag set that reports
// nothing by itself; parse does the reporting.
func newCommand(name, usage string, envFlags ...string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{fs: fs, usage: usage, envFlags: envFlags}
}

// printHelp writes the help of the command.
func (c *command) printHelp(w io.Writer) {
	fmt.Fprint(w, c.usage)
	fmt.Fprintln(w, "\nFlags:")
	c.fs.SetOutput(w)
	c.fs.PrintDefaults()
	c.fs.SetOutput(io.Discard)
	if len(c.envFlags) > 0 {
		names := make([]string, len(c.envFlags))
		for i, f := range c.envFlags {
			names[i] = envName(f)
		}
		fmt.Fprintf(w, "\nEnvironment (used when the flag is not given): %s\n", strings.Join(names, ", "))
	}
}

// parse parses the command line, then sets every env-capable flag the
// command line left unset from the environment, and returns the positional
// arguments (which may sit between flags). --help prints the help to
// stdout and returns errHelpShown.
func (c *cli) parse(cmd *command, args []string) ([]string, error) {
	var pos []string
	for {
		err := cmd.fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			cmd.printHelp(c.stdout)
			return nil, errHelpShown
		}
		if err != nil {
			return nil, usagef("%s: %s (see --help)", cmd.fs.Name(), err)
		}
		args = cmd.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if err := applyEnv(cmd.fs, c.env, cmd.envFlags); err != nil {
		return nil, err
	}
	return pos, nil
}

// applyEnv sets each named flag that was not set on the command line from
// its environment variable, if that is set.
func applyEnv(fs *flag.FlagSet, env lookupEnv, names []string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range names {
		if set[name] {
			continue
		}
		v, ok := env(envName(name))
		if !ok {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return usagef("invalid value %q for %s: %s", v, envName(name), err)
		}
	}
	return nil
}
