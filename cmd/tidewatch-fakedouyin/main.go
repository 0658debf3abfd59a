// Command tidewatch-fakedouyin runs the local fake of Douyin used by tests
// and the demo. It serves the www and creator origins and the control API
// (see package fakedouyin) on one address, optionally pre-creates accounts
// and prints their credentials as JSON, one line per account.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tidewatch/tidewatch/crawler/fakedouyin"
)

// main parses flags, runs the fake and stops it on SIGINT or SIGTERM.
func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tidewatch-fakedouyin:", err)
		os.Exit(1)
	}
}

// run is main with an error.
func run(args []string) error {
	fs := flag.NewFlagSet("tidewatch-fakedouyin", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:7700", "address to serve both origins and the control API on")
	simulate := fs.Bool("simulate", false, "produce simulated comments and DMs on every account")
	interval := fs.Duration("simulate-interval", fakedouyin.DefaultSimulateInterval, "pause between rounds of simulated traffic")
	accounts := fs.Int("accounts", 0, "accounts to create at start; their credentials are printed to stdout as JSON lines")
	qrRotate := fs.Duration("qr-rotate", fakedouyin.DefaultQRRotate, "how often a pending login QR code is replaced")
	imPoll := fs.Duration("im-poll", fakedouyin.DefaultIMPollInterval, "how often the home page polls for new DMs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := fakedouyin.New(&fakedouyin.Config{
		Listen:           *listen,
		Simulate:         *simulate,
		SimulateInterval: *interval,
		QRRotate:         *qrRotate,
		IMPollInterval:   *imPoll,
		Logger:           log,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "fake douyin listening on %s\n", srv.URL())
	enc := json.NewEncoder(os.Stdout)
	for range *accounts {
		info, err := srv.CreateAccount(fakedouyin.AccountSpec{})
		if err != nil {
			return err
		}
		// The credentials go to stdout on purpose: this is a test double
		// and its jars are fake.
		if err := enc.Encode(info); err != nil {
			return fmt.Errorf("printing account: %w", err)
		}
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
