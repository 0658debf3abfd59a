// Command genunit writes the systemd unit that the tidewatch-appliance .deb
// package ships. The unit is rendered by ossvc.RenderUnit, the same function
// the appliance's "install" subcommand uses, so a packaged install and a
// self-installed one run under the very same unit. release.sh runs it at
// package build time.
//
// Usage: genunit [-o FILE]   (default: standard output)
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tidewatch/tidewatch/packaging"
)

// main renders the unit and writes it.
func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "genunit: %s\n", err)
		os.Exit(1)
	}
}

// run parses args and writes the unit to -o or to stdout.
func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("genunit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "", "output file (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	unit, err := packaging.RenderApplianceUnit()
	if err != nil {
		return fmt.Errorf("rendering unit: %w", err)
	}
	if *out == "" {
		_, err = io.WriteString(stdout, unit)
		return err
	}
	// 0644: a unit file is public, and nfpm packages the mode it finds.
	if err := os.WriteFile(*out, []byte(unit), 0o644); err != nil {
		return fmt.Errorf("writing unit: %w", err)
	}
	return nil
}
