// Command tidewatch-demo runs the whole Tidewatch system on this machine:
// a master, the fake Douyin with simulated traffic, one appliance and the
// CLI client printing notifications. Ctrl-C stops every part.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tidewatch/tidewatch/internal/demo"
)

func main() {
	exe, _ := os.Executable()
	fs := flag.NewFlagSet("tidewatch-demo", flag.ContinueOnError)
	bin := fs.String("bin", filepath.Dir(exe), "directory of the built binaries")
	data := fs.String("data", "", "data directory (default: a new temporary directory, removed at exit)")
	accounts := fs.Int("accounts", 2, "fake Douyin accounts to watch")
	interval := fs.Int("monitor-interval", 10, "poll interval of the accounts, seconds")
	traffic := fs.Duration("traffic-interval", 8*time.Second, "pause between rounds of simulated fan traffic")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	keep := *data != ""
	if !keep {
		dir, err := os.MkdirTemp("", "tidewatch-demo-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "tidewatch-demo:", err)
			os.Exit(1)
		}
		*data = dir
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := demo.Run(ctx, &demo.Config{
		BinDir: *bin, DataDir: *data, Accounts: *accounts, MonitorInterval: *interval,
		TrafficInterval: *traffic, Out: os.Stdout, Logger: log,
	})
	stop()
	if !keep {
		_ = os.RemoveAll(*data)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tidewatch-demo:", err)
		os.Exit(1)
	}
}
