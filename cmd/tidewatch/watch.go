package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/client"
	"github.com/tidewatch/tidewatch/internal/cliflag"
	"github.com/tidewatch/tidewatch/protocol"
)

// watchUsage is the help of watch.
const watchUsage = `Usage: tidewatch watch [--device-name NAME] [--json]

Connects as this device, prints every notification not seen before (first
those that arrived while watch was not running, then live ones), and keeps
going across lost connections, reconnecting with backoff. The position is
saved in the configuration directory after each printed notification, so a
restarted watch prints exactly what it missed. Stops on SIGINT or SIGTERM.
`

// readUsage is the help of read.
const readUsage = `Usage: tidewatch read ID [ID...]

Marks notifications read, for the user's every device.
`

// Reconnect timings of watch; the flags exist so tests and impatient users
// can shorten them.
const (
	defaultBackoffMin = time.Second
	defaultBackoffMax = 30 * time.Second
)

// typeLabel names a notification type in the contract's language.
func typeLabel(typ string) string {
	switch typ {
	case protocol.MessageTypeComment:
		return "评论"
	case protocol.MessageTypeDirectMessage:
		return "私信"
	}
	return typ
}

// jsonNotification is one line of watch --json.
type jsonNotification struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	Title       string `json:"title"`
	Content     string `json:"content"`
	RelatedID   string `json:"related_id"`
	CreatedAt   int64  `json:"created_at"`
	Read        bool   `json:"read"`
	Cursor      string `json:"cursor,omitempty"`
	Live        bool   `json:"live"`
}

// watch runs the client until a signal.
func (c *cli) watch(ctx context.Context, g *globals, args []string) error {
	cmd := newCommand("watch", watchUsage, g)
	deviceName := cmd.Flags.String("device-name", "", "name of this device as the server shows it (default: tidewatch CLI on HOSTNAME)")
	asJSON := cmd.Flags.Bool("json", false, "print one JSON object per line instead of text")
	backoffMin := cmd.Flags.Duration("backoff-min", defaultBackoffMin, "first reconnect delay")
	backoffMax := cmd.Flags.Duration("backoff-max", defaultBackoffMax, "longest reconnect delay")
	pos, err := c.parse(cmd, g, args)
	if err != nil {
		return err
	}
	if err := cliflag.NoArgs("watch", pos); err != nil {
		return err
	}
	if *backoffMin <= 0 || *backoffMax < *backoffMin {
		return cliflag.Usagef("watch: --backoff-min must be positive and at most --backoff-max")
	}
	s, err := c.loadSession(g)
	if err != nil {
		return err
	}
	dial, err := c.dialConfig(g, s, *deviceName)
	if err != nil {
		return err
	}
	printer := c.textPrinter()
	if *asJSON {
		printer = c.jsonPrinter()
	}
	cl, err := client.New(&client.Config{
		Dial:           *dial,
		State:          &client.FileState{Path: statePath(g.config, s)},
		OnNotification: printer,
		OnStatus:       c.statusPrinter(s),
		BackoffMin:     *backoffMin,
		BackoffMax:     *backoffMax,
	})
	if err != nil {
		return err
	}
	if err := cl.Run(ctx); err != nil {
		return explain(err, s)
	}
	return nil
}

// dialConfig is how this device connects.
func (c *cli) dialConfig(g *globals, s *session, name string) (*client.DialConfig, error) {
	id, err := deviceID(g.config)
	if err != nil {
		return nil, err
	}
	if name == "" {
		host, err := c.hostname()
		if err != nil || host == "" {
			host = "this computer"
		}
		name = "tidewatch CLI on " + host
	}
	return &client.DialConfig{
		Server: s.Server, Token: s.Token, DeviceID: id, DeviceType: protocol.DeviceCLI, DeviceName: name,
	}, nil
}

// statusPrinter reports connects and reconnects on stderr.
func (c *cli) statusPrinter(s *session) func(client.Status) {
	return func(st client.Status) {
		switch {
		case st.Connected && st.CaughtUp:
			fmt.Fprintf(c.stderr, "up to date; waiting for new notifications\n")
			return
		case st.Connected:
			fmt.Fprintf(c.stderr, "connected to %s as %s (%d unread)\n", s.Server, s.Username, st.Unread)
			return
		}
		fmt.Fprintf(c.stderr, "%s; retrying in %s\n", explain(st.Err, s), st.RetryIn.Round(100*time.Millisecond))
	}
}

// textPrinter prints one readable line per notification:
//
//	2026-12-04 21:05:03  [评论] 我的抖音账号  用户B: 太有趣了!  (ntf-…)
func (c *cli) textPrinter() func(client.Notification) error {
	return func(n client.Notification) error {
		_, err := fmt.Fprintf(c.stdout, "%s  [%s] %s  %s  (%s)\n", n.CreatedAt.Local().Format("2006-01-02 15:04:05"),
			clean(typeLabel(n.Type)), clean(n.AccountName), clean(n.Content), clean(n.ID))
		return writeErr(err)
	}
}

// jsonPrinter prints one JSON object per notification.
func (c *cli) jsonPrinter() func(client.Notification) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	return func(n client.Notification) error {
		return writeErr(enc.Encode(jsonNotification{
			ID: n.ID, Type: n.Type, AccountID: n.AccountID, AccountName: n.AccountName, Title: n.Title,
			Content: n.Content, RelatedID: n.RelatedID, CreatedAt: n.CreatedAt.Unix(), Read: n.Read,
			Cursor: n.Cursor, Live: n.Live,
		}))
	}
}

// writeErr names a failed write to stdout (a closed pipe), which stops
// watch without moving the cursor past what was not printed.
func writeErr(err error) error {
	if err != nil {
		return fmt.Errorf("writing to standard output: %w", err)
	}
	return nil
}

// clean makes text from the network safe for a terminal line: control
// characters (escape sequences, line breaks) and bidirectional overrides
// become spaces or vanish, so a comment cannot rewrite the screen or fake
// another line.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			return -1
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return -1
		}
		return r
	}, s)
}

// read marks notifications read over one socket connection.
func (c *cli) read(ctx context.Context, g *globals, args []string) error {
	cmd := newCommand("read", readUsage, g)
	ids, err := c.parse(cmd, g, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return cliflag.Usagef("read: a notification ID is required")
	}
	s, err := c.loadSession(g)
	if err != nil {
		return err
	}
	dial, err := c.dialConfig(g, s, "")
	if err != nil {
		return err
	}
	sess, err := client.Dial(ctx, dial)
	if err != nil {
		return explain(err, s)
	}
	defer sess.Close()
	var errs []error
	for _, id := range ids {
		err := sess.MarkRead(ctx, id)
		var pe *client.ProtocolError
		switch {
		case err == nil:
			fmt.Fprintf(c.stdout, "marked %s read\n", id)
		case errors.As(err, &pe) && pe.Code == protocol.ErrNotFound:
			errs = append(errs, fmt.Errorf("no notification %s", id))
		default:
			errs = append(errs, fmt.Errorf("marking %s read: %w", id, explain(err, s)))
		}
	}
	return errors.Join(errs...)
}
