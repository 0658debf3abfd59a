package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/tidewatch/tidewatch/appliance/agent"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/sysinfo"
)

// selftestUsage is the help of selftest.
const selftestUsage = `Usage: tidewatch-appliance selftest [flags]

Measures this machine the way heartbeats do and prints the heartbeat payload
as JSON. Exits 1 when the figures could not be read.

Flags:
`

// selftestReport is what selftest prints.
type selftestReport struct {
	Version   string                   `json:"version"`
	GOOS      string                   `json:"goos"`
	GOARCH    string                   `json:"goarch"`
	Heartbeat protocol.WorkerHeartbeat `json:"heartbeat"`
}

// selftest is the selftest command.
func (c *cli) selftest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	dir := fs.String("data", os.TempDir(), "directory whose file system's free space is reported")
	if err := c.parseFlags(fs, selftestUsage, args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := sysinfo.New(ctx, &sysinfo.Config{DataDir: *dir, Logger: log})
	if err != nil {
		return err
	}
	r, err := s.Sample(ctx)
	if err != nil {
		return fmt.Errorf("measuring: %w", err)
	}
	hb := agent.HeartbeatOf(r, 0, nil)
	hb.WorkerID = "selftest"
	out, err := json.MarshalIndent(selftestReport{Version: version, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Heartbeat: hb}, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, string(out))
	if hb.MemoryUsage <= 0 {
		return errors.New("memory figure is zero: process memory could not be read")
	}
	return hb.Validate()
}
