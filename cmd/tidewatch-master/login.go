package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tidewatch/tidewatch/master/qrterm"
)

// accountLoginUsage is the help of account login.
const accountLoginUsage = `Usage: tidewatch-master account login --server URL --username NAME --password-stdin ACCOUNT_ID

Logs an account in by QR code: a capable appliance opens the platform's
login page, the code is printed here (again each time the page rotates it),
you scan it with the platform's app, and the account's new credentials go to
the master. Ctrl-C cancels the login.
`

// loginSession is what GET /login-sessions/{id} answers.
type loginSession struct {
	SessionID    string `json:"session_id"`
	Status       string `json:"status"`
	WorkerID     string `json:"worker_id"`
	QRCodeData   string `json:"qr_code_data"`
	ErrorType    string `json:"error_type"`
	ErrorMessage string `json:"error_message"`
	UserInfo     *struct {
		Nickname string `json:"nickname"`
		UID      string `json:"uid"`
	} `json:"user_info"`
}

// apiClient calls a running master's REST API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// call sends a JSON request and decodes a JSON answer; an error answer
// becomes an error naming the server's message.
func (a *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	res, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("reaching the master at %s: %w", a.base, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if res.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s %s: %s (%s)", method, path, e.Error.Message, e.Error.Code)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, res.StatusCode)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decoding the answer of %s %s: %w", method, path, err)
		}
	}
	return nil
}

// accountLogin runs a QR login from the terminal.
func (c *cli) accountLogin(ctx context.Context, args []string) error {
	cmd := newCommand("account login", accountLoginUsage, "server")
	server := cmd.fs.String("server", "http://127.0.0.1:7600", "URL of the running master")
	username := cmd.fs.String("username", "", "user to log in to the master as (required)")
	pwStdin := cmd.fs.Bool("password-stdin", false, "read the user's password from the first line of standard input (required)")
	poll := cmd.fs.Duration("poll", time.Second, "how often to ask the master for progress")
	invert := cmd.fs.Bool("invert", false, "draw dark modules as blocks (for light terminals)")
	pos, err := c.parse(cmd, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("account login takes one account id")
	}
	if *username == "" || !*pwStdin {
		return usagef("account login needs --username and --password-stdin")
	}
	if *poll <= 0 {
		return usagef("--poll must be positive")
	}
	if _, err := url.ParseRequestURI(*server); err != nil {
		return usagef("--server: %v", err)
	}
	pw, err := readPassword(c.stdin)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	api := &apiClient{base: strings.TrimRight(*server, "/"), http: &http.Client{Timeout: 30 * time.Second}}
	var tok struct {
		Token string `json:"token"`
	}
	if err := api.call(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": *username, "password": pw}, &tok); err != nil {
		return err
	}
	api.token = tok.Token
	// The start is not cut short by Ctrl-C: a login the master started must
	// be known here so that it can be cancelled.
	var s loginSession
	if err := api.call(context.WithoutCancel(ctx), http.MethodPost, "/api/v1/accounts/"+url.PathEscape(pos[0])+"/login", nil, &s); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "login %s started on appliance %s; waiting for the QR code…\n", s.SessionID, s.WorkerID)
	return c.followLogin(ctx, api, s.SessionID, *poll, *invert)
}

// followLogin prints each new QR code until the login ends; a cancelled
// context cancels the login on the master.
func (c *cli) followLogin(ctx context.Context, api *apiClient, id string, poll time.Duration, invert bool) error {
	shown := ""
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		var s loginSession
		if err := api.call(ctx, http.MethodGet, "/api/v1/login-sessions/"+url.PathEscape(id), nil, &s); err != nil {
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
func (c *cli) cancelLogin(api *apiClient, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := api.call(ctx, http.MethodDelete, "/api/v1/login-sessions/"+url.PathEscape(id), nil, nil); err != nil {
		return fmt.Errorf("interrupted; cancelling the login: %w", err)
	}
	return errors.New("interrupted; the login was cancelled")
}
