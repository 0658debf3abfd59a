package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/signal"
	"syscall"
	"time"

	"github.com/tidewatch/tidewatch/client"
	"github.com/tidewatch/tidewatch/internal/cliflag"
	"github.com/tidewatch/tidewatch/master/qrterm"
)

// accountLoginUsage is the help of account login.
const accountLoginUsage = `Usage: tidewatch-master account login --server URL --username NAME --password-stdin ACCOUNT_ID

Logs an account in by QR code: a capable appliance opens the platform's
login page, the code is printed here (again each time the page rotates it),
you scan it with the platform's app, and the account's new credentials go to
the master. Ctrl-C cancels the login.
`

// accountLogin runs a QR login from the terminal.
func (c *cli) accountLogin(ctx context.Context, args []string) error {
	cmd := cliflag.New("account login", accountLoginUsage, "server")
	server := cmd.Flags.String("server", "http://127.0.0.1:7600", "URL of the running master")
	username := cmd.Flags.String("username", "", "user to log in to the master as (required)")
	pwStdin := cmd.Flags.Bool("password-stdin", false, "read the user's password from the first line of standard input (required)")
	poll := cmd.Flags.Duration("poll", time.Second, "how often to ask the master for progress")
	invert := cmd.Flags.Bool("invert", false, "draw dark modules as blocks (for light terminals)")
	pos, err := cmd.Parse(args, c.stdout, c.env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cliflag.Usagef("account login takes one account id")
	}
	if *username == "" || !*pwStdin {
		return cliflag.Usagef("account login needs --username and --password-stdin")
	}
	if *poll <= 0 {
		return cliflag.Usagef("--poll must be positive")
	}
	if _, err := url.ParseRequestURI(*server); err != nil {
		return cliflag.Usagef("--server: %v", err)
	}
	pw, err := readPassword(c.stdin)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	base, err := client.NormalizeServer(*server)
	if err != nil {
		return cliflag.Usagef("--server: %v", err)
	}
	httpc := &http.Client{Timeout: 30 * time.Second}
	tok, err := client.Login(ctx, httpc, base, *username, pw)
	if err != nil {
		return err
	}
	api := &client.API{Server: base, Token: tok.Token, HTTP: httpc}
	// The start is not cut short by Ctrl-C: a login the master started must
	// be known here so that it can be cancelled.
	s, err := api.StartLogin(context.WithoutCancel(ctx), pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "login %s started on appliance %s; waiting for the QR code…\n", s.ID, s.WorkerID)
	return c.followLogin(ctx, api, s.ID, *poll, *invert)
}

// followLogin prints each new QR code until the login ends; a cancelled
// context cancels the login on the master.
func (c *cli) followLogin(ctx context.Context, api *client.API, id string, poll time.Duration, invert bool) error {
	shown := ""
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		s, err := api.Login(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return c.cancelLogin(api, id)
			}
			return err
		}
		if s.QRCodeData != "" && s.QRCodeData != shown {
			art, err := qrterm.RenderDataURL(s.QRCodeData, invert)
			if err != nil {
				return fmt.Errorf("drawing the QR code: %w", err)
			}
			fmt.Fprintf(c.stdout, "\n%s\nScan this code with the Douyin app (it is replaced about every minute).\n", art)
			shown = s.QRCodeData
		}
		switch s.Status {
		case "succeeded":
			name := ""
			if s.UserInfo != nil {
				name = " as " + s.UserInfo.Nickname
			}
			fmt.Fprintf(c.stdout, "logged in%s; the account is active\n", name)
			return nil
		case "failed":
			return fmt.Errorf("login failed (%s): %s", s.ErrorType, s.ErrorMessage)
		case "cancelled":
			return errors.New("login was cancelled")
		}
		select {
		case <-ctx.Done():
			return c.cancelLogin(api, id)
		case <-t.C:
		}
	}
}

// cancelLogin cancels a login after Ctrl-C.
func (c *cli) cancelLogin(api *client.API, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := api.CancelLogin(ctx, id); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return errors.New("interrupted; the login was cancelled")
}
