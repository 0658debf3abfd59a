package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tidewatch/tidewatch/client"
	"github.com/tidewatch/tidewatch/internal/cliflag"
)

// loginUsage is the help of login.
const loginUsage = `Usage: tidewatch login --server URL --username NAME [--password-stdin]

Logs in and keeps the session token in the configuration directory (owner
read/write only). The password is asked for on the terminal without echo, or
read from the first line of standard input with --password-stdin.
`

// logoutUsage is the help of logout.
const logoutUsage = `Usage: tidewatch logout

Forgets the session token. The watch cursor is kept, so logging in again as
the same user resumes where watch stopped.
`

// login logs in and saves the session.
func (c *cli) login(ctx context.Context, g *globals, args []string) error {
	cmd := newCommand("login", loginUsage, g)
	username := cmd.Flags.String("username", "", "user name (required)")
	fromStdin := cmd.Flags.Bool("password-stdin", false, "read the password from the first line of standard input")
	pos, err := c.parse(cmd, g, args)
	if err != nil {
		return err
	}
	if err := cliflag.NoArgs("login", pos); err != nil {
		return err
	}
	if g.server == "" {
		return cliflag.Usagef("login: --server (or %s) is required", envServer)
	}
	server, err := client.NormalizeServer(g.server)
	if err != nil {
		return cliflag.Usagef("login: --server: %s", err)
	}
	if *username == "" {
		return cliflag.Usagef("login: --username is required")
	}
	var pw string
	switch {
	case *fromStdin:
		if pw, err = readPasswordLine(c.stdin); err != nil {
			return err
		}
	case c.isTerminal():
		fmt.Fprintf(c.stderr, "Password for %s at %s: ", *username, server)
		b, err := c.readPassword()
		fmt.Fprintln(c.stderr)
		if err != nil {
			return fmt.Errorf("reading the password: %w", err)
		}
		pw = string(b)
	default:
		return cliflag.Usagef("login: standard input is not a terminal; pipe the password in and pass --password-stdin")
	}
	if pw == "" {
		return errors.New("the password is empty")
	}
	res, err := client.Login(ctx, nil, server, *username, pw)
	if err != nil {
		var ue *client.UnreachableError
		if errors.As(err, &ue) {
			return fmt.Errorf("cannot reach the server at %s: %v", ue.URL, ue.Err)
		}
		if errors.Is(err, client.ErrUnauthorized) {
			return fmt.Errorf("login refused by %s: wrong username or password", server)
		}
		return err
	}
	s := &session{
		Server: server, Token: res.Token, ExpiresAt: res.ExpiresAt.Unix(),
		Username: res.User.Username, UserID: res.User.ID, Admin: res.User.Admin,
	}
	if s.Username == "" {
		s.Username = *username
	}
	if err := saveSession(g.config, s); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "logged in to %s as %s; the session is valid until %s\n",
		server, s.Username, res.ExpiresAt.Local().Format("2006-01-02 15:04"))
	return nil
}

// readPasswordLine reads the first line of r as the password.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

// logout removes the session file.
func (c *cli) logout(g *globals, args []string) error {
	cmd := newCommand("logout", logoutUsage, g)
	pos, err := c.parse(cmd, g, args)
	if err != nil {
		return err
	}
	if err := cliflag.NoArgs("logout", pos); err != nil {
		return err
	}
	path := filepath.Join(g.config, sessionFile)
	s, loadErr := c.loadSession(&globals{config: g.config})
	err = os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(c.stdout, "not logged in")
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing the session: %w", err)
	}
	if loadErr == nil {
		fmt.Fprintf(c.stdout, "logged out of %s\n", s.Server)
	} else {
		fmt.Fprintln(c.stdout, "logged out")
	}
	return nil
}
