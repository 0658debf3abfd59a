package main

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/tidewatch/tidewatch/internal/cliflag"
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

// newCommand returns a command whose flag set also takes the global flags,
// defaulting to what came before the command. The global flags are not
// env-capable here: parseGlobal already applied their environment.
func newCommand(name, usage string, g *globals) *cliflag.Command {
	cmd := cliflag.New(name, usage)
	cmd.Flags.StringVar(&g.config, "config", g.config, "configuration directory (env "+envConfig+")")
	cmd.Flags.StringVar(&g.server, "server", g.server, "master URL (env "+envServer+")")
	return cmd
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
	if err := cmd.Flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, topUsage)
			return nil, nil, cliflag.ErrHelpShown
		}
		return nil, nil, cliflag.Usagef("%s (see --help)", err)
	}
	return g, cmd.Flags.Args(), nil
}

// parse parses a command's flags; positional arguments may sit between
// flags. --help prints the help and returns cliflag.ErrHelpShown. Every
// command needs the configuration directory, so its absence is bad usage.
func (c *cli) parse(cmd *cliflag.Command, g *globals, args []string) ([]string, error) {
	pos, err := cmd.Parse(args, c.stdout, c.env)
	if err != nil {
		return nil, err
	}
	if g.config == "" {
		return nil, cliflag.Usagef("no configuration directory: pass --config DIR or set %s", envConfig)
	}
	return pos, nil
}
