package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tidewatch/tidewatch/internal/cliflag"
	"github.com/tidewatch/tidewatch/master"
	"github.com/tidewatch/tidewatch/master/api"
	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/master/store"
)

// Help of the offline commands.
const (
	userAddUsage = `Usage: tidewatch-master user add --data DIR --username NAME [--admin] --password-stdin

Adds a user. The password is the first line of standard input, e.g.
  printf '%s\n' "$PASSWORD" | tidewatch-master user add --data DIR --username admin --admin --password-stdin
`
	userListUsage = `Usage: tidewatch-master user list --data DIR

Lists users.
`
	tokenCreateUsage = `Usage: tidewatch-master token create --data DIR --name NAME

Creates an appliance enrollment token. The token is printed once, alone on
the last line of standard output; the master keeps only its hash.
`
	tokenListUsage = `Usage: tidewatch-master token list --data DIR

Lists enrollment tokens (never their secrets).
`
	tokenRevokeUsage = `Usage: tidewatch-master token revoke --data DIR ID

Revokes an enrollment token: appliances can no longer register with it.
`
)

// timeLayout formats times in listings.
const timeLayout = time.RFC3339

// dataFlag adds --data to cmd, taken from TIDEWATCH_DATA when not given.
func dataFlag(cmd *cliflag.Command) *string {
	cmd.AddEnv("data")
	return cmd.Flags.String("data", "", "data directory of the master (required)")
}

// openStore opens the store of an offline command.
func (c *cli) openStore(ctx context.Context, cmdName, dir string) (*store.Store, error) {
	if dir == "" {
		return nil, cliflag.Usagef("%s: --data (or %s) is required", cmdName, cliflag.EnvName("data"))
	}
	st, err := master.OpenStore(ctx, dir, c.offlineLogger())
	if err != nil {
		return nil, err
	}
	return st, nil
}

// userAdd adds a user with a password read from stdin.
func (c *cli) userAdd(ctx context.Context, args []string) (err error) {
	cmd := cliflag.New("user add", userAddUsage)
	data := dataFlag(cmd)
	username := cmd.Flags.String("username", "", "user name (required)")
	admin := cmd.Flags.Bool("admin", false, "make the user an admin")
	fromStdin := cmd.Flags.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	pos, err := cmd.Parse(args, c.stdout, c.env)
	if err != nil {
		return err
	}
	if err := cliflag.NoArgs("user add", pos); err != nil {
		return err
	}
	if *username == "" {
		return cliflag.Usagef("user add: --username is required")
	}
	if err := api.CheckUsername(*username); err != nil {
		return cliflag.Usagef("user add: %s", err)
	}
	if !*fromStdin {
		return cliflag.Usagef("user add: --password-stdin is required: the password is read from standard input, never from a flag")
	}
	if *data == "" {
		return cliflag.Usagef("user add: --data (or %s) is required", cliflag.EnvName("data"))
	}
	pw, err := readPassword(c.stdin)
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return fmt.Errorf("password: %w", err)
	}

	st, err := c.openStore(ctx, "user add", *data)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore(st)) }()
	u, err := st.CreateUser(ctx, *username, hash, *admin)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("user %q already exists", *username)
	}
	if err != nil {
		return err
	}
	role := "user"
	if u.Admin {
		role = "admin"
	}
	fmt.Fprintf(c.stdout, "created %s %s (%s)\n", role, u.Username, u.ID)
	return nil
}

// readPassword reads the first line of r as a password and checks its
// length.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	switch {
	case pw == "":
		return "", errors.New("no password on standard input")
	case len(pw) < auth.MinPasswordLength:
		return "", fmt.Errorf("the password must be at least %d characters", auth.MinPasswordLength)
	case len(pw) > 72:
		return "", errors.New("the password must be at most 72 bytes")
	}
	return pw, nil
}

// closeStore closes a store, naming the step on failure.
func closeStore(st *store.Store) error {
	if err := st.Close(); err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	return nil
}

// userList lists users.
func (c *cli) userList(ctx context.Context, args []string) (err error) {
	cmd := cliflag.New("user list", userListUsage)
	data := dataFlag(cmd)
	pos, err := cmd.Parse(args, c.stdout, c.env)
	if err != nil {
		return err
	}
	if err := cliflag.NoArgs("user list", pos); err != nil {
		return err
	}
	st, err := c.openStore(ctx, "user list", *data)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore(st)) }()
	users, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tADMIN\tCREATED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", u.ID, u.Username, u.Admin, u.CreatedAt.Format(timeLayout))
	}
	return tw.Flush()
}

// tokenCreate creates an enrollment token and prints it as the last line.
func (c *cli) tokenCreate(ctx context.Context, args []string) (err error) {
	cmd := cliflag.New("token create", tokenCreateUsage)
	data := dataFlag(cmd)
	name := cmd.Flags.String("name", "", "name of the appliance the token is for (required)")
	pos, err := cmd.Parse(args, c.stdout, c.env)
	if err != nil {
		return err
	}
	if err := cliflag.NoArgs("token create", pos); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return cliflag.Usagef("token create: --name is required")
	}
	st, err := c.openStore(ctx, "token create", *data)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore(st)) }()
	t, secret, err := st.CreateWorkerToken(ctx, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "created enrollment token %s (%s); it is shown only this once:\n", t.ID, t.Name)
	fmt.Fprintln(c.stdout, secret)
	return nil
}

// tokenList lists enrollment tokens.
func (c *cli) tokenList(ctx context.Context, args []string) (err error) {
	cmd := cliflag.New("token list", tokenListUsage)
	data := dataFlag(cmd)
	pos, err := cmd.Parse(args, c.stdout, c.env)
	if err != nil {
		return err
	}
	if err := cliflag.NoArgs("token list", pos); err != nil {
		return err
	}
	st, err := c.openStore(ctx, "token list", *data)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore(st)) }()
	toks, err := st.ListWorkerTokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tREVOKED")
	for _, t := range toks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format(timeLayout),
			optTime(t.LastUsedAt), optTime(t.RevokedAt))
	}
	return tw.Flush()
}

// optTime formats an optional time, "-" when unset.
func optTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(timeLayout)
}

// tokenRevoke revokes one enrollment token.
func (c *cli) tokenRevoke(ctx context.Context, args []string) (err error) {
	cmd := cliflag.New("token revoke", tokenRevokeUsage)
	data := dataFlag(cmd)
	pos, err := cmd.Parse(args, c.stdout, c.env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cliflag.Usagef("token revoke needs exactly one token id, got %d", len(pos))
	}
	st, err := c.openStore(ctx, "token revoke", *data)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore(st)) }()
	err = st.RevokeWorkerToken(ctx, pos[0])
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no enrollment token %q", pos[0])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "revoked %s\n", pos[0])
	return nil
}
