package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Environment variables of the global flags.
const (
	envConfig = "TIDEWATCH_CONFIG"
	envServer = "TIDEWATCH_SERVER"
)

// globals are the flags every command takes.
type globals struct {
	// config is the configuration directory.
	config string
	// server is the master URL asked for; "" means the session's.
	server string
}

// command is one command's flag set and help.
type command struct {
	fs    *flag.FlagSet
	usage string
}

// newCommand returns a command whose flag set also takes the global flags,
// defaulting to what came before the command.
func newCommand(name, usage string, g *globals) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&g.config, "config", g.config, "configuration directory (env "+envConfig+")")
	fs.StringVar(&g.server, "server", g.server, "master URL (env "+envServer+")")
	return &command{fs: fs, usage: usage}
}

// printHelp writes the help of the command.
func (c *command) printHelp(w io.Writer) {
	fmt.Fprint(w, c.usage)
	fmt.Fprintln(w, "\nFlags:")
	c.fs.SetOutput(w)
	c.fs.PrintDefaults()
	c.fs.SetOutput(io.Discard)
}

// parseGlobal reads the global flags before the command: flags, then the
// environment, then the defaults.
func (c *cli) parseGlobal(args []string) (*globals, []string, error) {
	g := &globals{}
	if v, ok := c.env(envConfig); ok && v != "" {
		g.config = v
	} else {
		dir, err := c.userConfigDir()
		if err == nil && dir != "" {
			g.config = filepath.Join(dir, "tidewatch")
		}
	}
	if v, ok := c.env(envServer); ok {
		g.server = v
	}
	cmd := newCommand("tidewatch", topUsage, g)
	if err := cmd.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, topUsage)
			return nil, nil, errHelpShown
		}
		return nil, nil, usagef("%s (see --help)", err)
	}
	return g, cmd.fs.Args(), nil
}

// parse parses a command's flags; positional arguments may sit between
// flags. --help prints the help and returns errHelpShown.
func (c *cli) parse(cmd *command, g *globals, args []string) ([]string, error) {
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
	if g.config == "" {
		return nil, usagef("no configuration directory: pass --config DIR or set %s", envConfig)
	}
	return pos, nil
}

// noArgs fails when a command that takes no arguments got some.
func noArgs(name string, pos []string) error {
	if len(pos) > 0 {
		return usagef("%s takes no arguments, got %q", name, strings.Join(pos, " "))
	}
	return nil
}
