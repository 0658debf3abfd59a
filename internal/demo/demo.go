// Package demo runs the whole Tidewatch system on one machine for a first
// look: a master, the fake Douyin producing traffic on two accounts, one
// appliance enrolled with a fresh token, and the CLI client printing
// notifications as they arrive. Every part is a real process started from
// the built binaries; stopping the demo stops them all.
package demo

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config configures a demo run.
type Config struct {
	// BinDir holds tidewatch-master, tidewatch-appliance,
	// tidewatch-fakedouyin and tidewatch.
	BinDir string
	// DataDir is where the parts keep their data; created if missing.
	DataDir string
	// Accounts is how many fake Douyin accounts to watch.
	Accounts int
	// MonitorInterval is the accounts' poll interval in seconds.
	MonitorInterval int
	// TrafficInterval is the pause between rounds of simulated traffic.
	TrafficInterval time.Duration
	// Out receives the CLI client's notifications and the demo's banner.
	Out io.Writer
	// Logger reports the demo's own steps.
	Logger *slog.Logger
}

// proc is one started part.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Demo is a running demo.
type Demo struct {
	cfg   Config
	log   *slog.Logger
	mu    sync.Mutex
	procs []*proc
	// Died receives the name of a part that exited on its own.
	Died chan string
}

// Run starts every part and blocks until ctx ends or a part dies; then it
// stops everything it started.
func Run(ctx context.Context, cfg *Config) error {
	d := &Demo{cfg: *cfg, log: cfg.Logger, Died: make(chan string, 8)}
	defer d.stopAll()
	if err := d.start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(d.cfg.Out, "\nstopping…")
		return nil
	case name := <-d.Died:
		return fmt.Errorf("%s exited; stopping the demo", name)
	}
}

// start brings the parts up in order.
func (d *Demo) start(ctx context.Context) error {
	c := d.cfg
	masterData, applianceData, cliData := filepath.Join(c.DataDir, "master"), filepath.Join(c.DataDir, "appliance"), filepath.Join(c.DataDir, "cli")
	for _, dir := range []string{masterData, applianceData, cliData} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	password, err := newPassword()
	if err != nil {
		return err
	}
	if _, err := d.runOnce(ctx, "tidewatch-master", password+"\n", "user", "add", "--data", masterData, "--username", "admin", "--admin", "--password-stdin"); err != nil {
		return fmt.Errorf("creating the admin user: %w", err)
	}
	out, err := d.runOnce(ctx, "tidewatch-master", "", "token", "create", "--data", masterData, "--name", "demo-appliance")
	if err != nil {
		return fmt.Errorf("creating an enrollment token: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := strings.TrimSpace(lines[len(lines)-1])

	masterAddr, err := freeAddr()
	if err != nil {
		return err
	}
	masterURL := "http://" + masterAddr
	if _, err := d.spawn("master", nil, "tidewatch-master", "serve", "--listen", masterAddr, "--data", masterData); err != nil {
		return err
	}
	if err := waitHTTP(ctx, masterURL+"/healthz"); err != nil {
		return fmt.Errorf("waiting for the master: %w", err)
	}

	fakeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	fakeURL := "http://" + fakeAddr
	fakeOut, err := d.spawn("fake douyin", io.Discard, "tidewatch-fakedouyin", "--listen", fakeAddr, "--simulate",
		"--simulate-interval", c.TrafficInterval.String(), "--accounts", fmt.Sprint(c.Accounts))
	if err != nil {
		return err
	}
	accounts, err := readAccounts(fakeOut, c.Accounts)
	if err != nil {
		return fmt.Errorf("reading the fake's accounts: %w", err)
	}

	jwt, err := login(ctx, masterURL, "admin", password)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		body := map[string]any{
			"platform": "douyin", "account_id": a.UID, "account_name": a.Nickname,
			"credentials": a.Credentials, "monitor_interval": c.MonitorInterval,
		}
		if err := postJSON(ctx, masterURL+"/api/v1/accounts", jwt, body, nil); err != nil {
			return fmt.Errorf("adding account %s: %w", a.Nickname, err)
		}
	}

	setupAddr, err := freeAddr()
	if err != nil {
		return err
	}
	if _, err := d.spawn("appliance", nil, "tidewatch-appliance", "run", "--data", applianceData, "--master", masterURL,
		"--token", token, "--worker-name", "demo-appliance", "--setup-listen", setupAddr,
		"--douyin-www-origin", fakeURL, "--douyin-creator-origin", fakeURL); err != nil {
		return err
	}

	if _, err := d.runOnce(ctx, "tidewatch", password+"\n", "login", "--config", cliData, "--server", masterURL, "--username", "admin", "--password-stdin"); err != nil {
		return fmt.Errorf("logging the CLI in: %w", err)
	}
	fmt.Fprintf(c.Out, `
Tidewatch demo is running.
  master         %s   (admin password: %s)
  setup page     http://%s   (the appliance's local page)
  fake Douyin    %s   (simulated fans comment and send messages)
  data           %s

Notifications appear below as the appliance finds them. Ctrl-C stops everything.

`, masterURL, password, setupAddr, fakeURL, c.DataDir)
	if _, err := d.spawn("watch", c.Out, "tidewatch", "watch", "--config", cliData); err != nil {
		return err
	}
	return nil
}

// fakeAccount is one line of the fake's --accounts output.
type fakeAccount struct {
	UID         string          `json:"uid"`
	Nickname    string          `json:"nickname"`
	Credentials json.RawMessage `json:"credentials"`
}

// readAccounts reads n JSON lines.
func readAccounts(r io.Reader, n int) ([]fakeAccount, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []fakeAccount
	for len(out) < n && sc.Scan() {
		var a fakeAccount
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return nil, fmt.Errorf("decoding %q: %w", sc.Text(), err)
		}
		out = append(out, a)
	}
	if len(out) < n {
		return nil, fmt.Errorf("got %d of %d accounts: %v", len(out), n, sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	return out, nil
}

// bin returns the path of a binary.
func (d *Demo) bin(name string) string { return filepath.Join(d.cfg.BinDir, name) }

// runOnce runs a command to completion and returns its stdout.
func (d *Demo) runOnce(ctx context.Context, name, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.bin(name), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// spawn starts a long-running part. Its stdout goes to out (nil: the demo's
// log file), or, when out is io.Discard, is returned for reading; stderr goes
// to a log file in the data directory.
func (d *Demo) spawn(name string, out io.Writer, binary string, args ...string) (io.Reader, error) {
	logPath := filepath.Join(d.cfg.DataDir, strings.ReplaceAll(name, " ", "-")+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", logPath, err)
	}
	cmd := exec.Command(d.bin(binary), args...)
	cmd.Stderr = logFile
	// Its own process group: the terminal's Ctrl-C reaches the demo, which
	// then stops every part in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var pipe io.Reader
	switch out {
	case nil:
		cmd.Stdout = logFile
	case io.Discard:
		r, err := cmd.StdoutPipe()
		if err != nil {
			return nil, fmt.Errorf("piping %s: %w", name, err)
		}
		pipe = r
	default:
		cmd.Stdout = out
	}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	d.mu.Lock()
	d.procs = append(d.procs, p)
	d.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
		select {
		case d.Died <- name:
		default:
		}
	}()
	d.log.Info("started", "part", name, "pid", cmd.Process.Pid, "log", logPath)
	return pipe, nil
}

// stopAll stops the parts in reverse order: SIGTERM, then SIGKILL after a
// grace period.
func (d *Demo) stopAll() {
	d.mu.Lock()
	procs := d.procs
	d.procs = nil
	d.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		select {
		case <-p.done:
			continue
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		d.log.Info("stopped", "part", p.name)
	}
}

// freeAddr returns a free loopback address.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHTTP polls url until it answers 200.
func waitHTTP(ctx context.Context, url string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("no answer within 20s")
}

// login gets a JWT.
func login(ctx context.Context, base, user, password string) (string, error) {
	var tok struct {
		Token string `json:"token"`
	}
	if err := postJSON(ctx, base+"/api/v1/auth/login", "", map[string]string{"username": user, "password": password}, &tok); err != nil {
		return "", fmt.Errorf("logging in: %w", err)
	}
	return tok.Token, nil
}

// postJSON posts a JSON body and decodes the answer into out.
func postJSON(ctx context.Context, url, jwt string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if jwt != "" {
		req.Header.Set("Authorization", "Bearer "+jwt)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode >= 300 {
		return fmt.Errorf("HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(raw)))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// newPassword generates the admin's password: 16 letters and digits.
func newPassword() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("generating a password: %w", err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}
