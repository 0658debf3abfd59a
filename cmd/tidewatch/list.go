package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tidewatch/tidewatch/client"
	"github.com/tidewatch/tidewatch/internal/cliflag"
)

// accountsUsage is the help of accounts.
const accountsUsage = `Usage: tidewatch accounts

Lists the monitored accounts you can see.
`

// workersUsage is the help of workers.
const workersUsage = `Usage: tidewatch workers

Lists the appliances (workers) with their live state. Admins only.
`

// api returns the REST client of a logged-in command.
func (c *cli) api(g *globals, name string, args []string, usage string) (*client.API, *session, error) {
	cmd := newCommand(name, usage, g)
	pos, err := c.parse(cmd, g, args)
	if err != nil {
		return nil, nil, err
	}
	if err := cliflag.NoArgs(name, pos); err != nil {
		return nil, nil, err
	}
	s, err := c.loadSession(g)
	if err != nil {
		return nil, nil, err
	}
	return &client.API{Server: s.Server, Token: s.Token}, s, nil
}

// accounts prints the accounts table.
func (c *cli) accounts(ctx context.Context, g *globals, args []string) error {
	api, s, err := c.api(g, "accounts", args, accountsUsage)
	if err != nil {
		return err
	}
	accs, err := api.Accounts(ctx)
	if err != nil {
		return explain(err, s)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPLATFORM\tSTATUS\tWORKER")
	for _, a := range accs {
		status := a.Status
		if a.ErrorMessage != "" {
			status += ": " + a.ErrorMessage
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", clean(a.ID), orDash(clean(a.Name)), clean(a.Platform), clean(status), orDash(clean(a.WorkerID)))
	}
	return writeErr(tw.Flush())
}

// workers prints the workers table.
func (c *cli) workers(ctx context.Context, g *globals, args []string) error {
	api, s, err := c.api(g, "workers", args, workersUsage)
	if err != nil {
		return err
	}
	ws, err := api.Workers(ctx)
	if err != nil {
		return explain(err, s)
	}
	now := c.now()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCPU\tMEMORY\tACCOUNTS\tLAST HEARTBEAT")
	for _, w := range ws {
		fmt.Fprintf(tw, "%s\t%s\t%.1f%%\t%.1f MB\t%s\t%s\n", clean(w.ID), clean(w.Status), w.CPUUsage, w.MemoryUsage,
			strconv.Itoa(len(w.Accounts)), heartbeat(w.LastHeartbeatAt, now))
	}
	return writeErr(tw.Flush())
}

// heartbeat renders a Unix time as local time and age, or "never".
func heartbeat(unix int64, now time.Time) string {
	if unix <= 0 {
		return "never"
	}
	t := time.Unix(unix, 0)
	age := now.Sub(t).Round(time.Second)
	if age < 0 {
		age = 0
	}
	return fmt.Sprintf("%s (%s ago)", t.Local().Format("2006-01-02 15:04:05"), age)
}

// orDash shows an empty cell as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
