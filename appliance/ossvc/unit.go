// Package ossvc integrates the appliance with the operating system's service
// manager: it renders the appliance's own systemd unit and installs,
// removes, starts, stops and queries the service.
package ossvc

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Defaults for UnitConfig.
const (
	// DefaultServiceName is the service (and unit file) name.
	DefaultServiceName = "tidewatch-appliance"

	// DefaultDescription is the unit's description.
	DefaultDescription = "Tidewatch appliance (Douyin comment and message monitor)"

	// DefaultBinaryPath is where the .deb package installs the appliance.
	DefaultBinaryPath = "/usr/bin/tidewatch-appliance"

	// DefaultDataDir is the appliance's data directory in packaged
	// installs; being under /var/lib it becomes the unit's StateDirectory.
	DefaultDataDir = "/var/lib/tidewatch"

	// DefaultRestartDelay is how long systemd waits before restarting a
	// failed appliance.
	DefaultRestartDelay = 10 * time.Second

	// DefaultStopTimeout is how long systemd lets the appliance shut down
	// (close the outbox, stop Chromium) before killing it.
	DefaultStopTimeout = 30 * time.Second
)

// Exit codes of the appliance that the unit gives a meaning to.
//
// The unit restarts the appliance only on failure (Restart=on-failure):
// after a crash, a panic (exit status 2), an error exit or a kill by signal,
// systemd restarts it every RestartDelay, without a start limit, because an
// appliance nobody watches must come back by itself.
//
// When the master sends master:shutdown the appliance must stay down. Exit 0
// alone would already not be restarted under on-failure, but exit 0 is also
// what a bug that makes the run loop return early looks like, and it stops
// being enough as soon as someone adds Restart=always in a drop-in. So the
// deliberate shutdown has its own status, ExitShutdownRequested, which the
// unit lists both in SuccessExitStatus (the unit ends "inactive", not
// "failed") and in RestartPreventExitStatus (never restarted, whatever the
// Restart= policy). The value is from the 150–199 range that the LSB and
// systemd leave to applications. A stop by systemctl (SIGTERM, then exit 0)
// is never restarted either.
const (
	// ExitOK is a normal exit, e.g. after SIGTERM from systemctl stop.
	ExitOK = 0

	// ExitFailure is a generic failure; systemd restarts the appliance.
	ExitFailure = 1

	// ExitShutdownRequested means the master asked the appliance to stop
	// (master:shutdown); systemd leaves it stopped until the next boot or
	// an explicit start.
	ExitShutdownRequested = 150
)

// UnitConfig describes the appliance's systemd unit.
type UnitConfig struct {
	// Name is the service name; the unit file is Name + ".service". Empty
	// means DefaultServiceName.
	Name string

	// Description is the unit's description. Empty means
	// DefaultDescription.
	Description string

	// BinaryPath is the absolute path of the appliance binary. Required.
	BinaryPath string

	// DataDir is the absolute path of the data directory, passed as
	// "--data" and made writable under the unit's read-only file system
	// protections. Required. Under /var/lib it also becomes the unit's
	// StateDirectory, so systemd creates it owned by User.
	DataDir string

	// ExtraArgs are appended to "run --data DataDir"; they are quoted for
	// systemd.
	ExtraArgs []string

	// User and Group are the account the service runs as; empty means
	// root (User) or the user's primary group (Group). The .deb package
	// uses a "tidewatch" system user.
	User, Group string

	// RestartDelay is systemd's RestartSec. Zero means DefaultRestartDelay.
	RestartDelay time.Duration

	// StopTimeout is systemd's TimeoutStopSec. Zero means
	// DefaultStopTimeout.
	StopTimeout time.Duration
}

// stateDirRoot is the parent of systemd's StateDirectory= directories for
// system services.
const stateDirRoot = "/var/lib/"

// unitTemplate is the appliance's systemd unit. Every value is validated
// and escaped in Go before it reaches the template.
const unitTemplate = `[Unit]
Description={{.Description}}
# The appliance connects to the master and serves its setup page at once;
# started before the network it would fail to bind and resolve.
After=network-online.target
Wants=network-online.target
# Never give up restarting: an appliance nobody watches must come back.
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart={{.ExecStart}}
{{- if .User}}
User={{.User}}
{{- end}}
{{- if .Group}}
Group={{.Group}}
{{- end}}
{{- if .StateDirectory}}
StateDirectory={{.StateDirectory}}
StateDirectoryMode=0750
{{- end}}
# Restart after crashes, but not after exit {{.ShutdownStatus}}, which the
# appliance uses when the master sent master:shutdown.
Restart=on-failure
RestartSec={{.RestartSec}}
SuccessExitStatus={{.ShutdownStatus}}
RestartPreventExitStatus={{.ShutdownStatus}}
TimeoutStopSec={{.TimeoutStopSec}}
StandardOutput=journal
StandardError=journal
SyslogIdentifier={{.Name}}
UMask=0027
NoNewPrivileges=true
ProtectSystem=full
ProtectHome=true
PrivateTmp=true
# "-": a missing directory must not stop the unit from starting; the
# appliance then reports it itself.
ReadWritePaths=-{{.DataDir}}

[Install]
WantedBy=multi-user.target
`

// parsedUnitTemplate is unitTemplate parsed; the template is a constant, so
// a parse failure is a programming error caught by any test.
var parsedUnitTemplate = template.Must(template.New("unit").Option("missingkey=error").Parse(unitTemplate))

// unitData is what unitTemplate renders.
type unitData struct {
	Name           string
	Description    string
	BinaryPath     string
	ExecStart      string
	User           string
	Group          string
	StateDirectory string
	DataDir        string
	RestartSec     string
	TimeoutStopSec string
	ShutdownStatus int
}

// Validation patterns.
var (
	// safePathRe is what a path may consist of in the unit without quoting:
	// no white space, quotes, backslashes, "$" (variable expansion), "%"
	// (specifiers) or template braces. Paths outside it are refused rather
	// than quoted, because each directive (ExecStart, ReadWritePaths,
	// StateDirectory) quotes differently.
	safePathRe = regexp.MustCompile(`^/[A-Za-z0-9._+,:@=/-]*$`)

	// serviceNameRe is a systemd unit name without its suffix; "@"
	// (template units) is not allowed.
	serviceNameRe = regexp.MustCompile(`^[A-Za-z0-9:_.-]{1,200}$`)

	// accountRe is a user or group name as adduser accepts it.
	accountRe = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

	// safeArgRe is an argument that needs no quoting in ExecStart.
	safeArgRe = regexp.MustCompile(`^[A-Za-z0-9._+,:@=/-]+$`)
)

// homeDirs are the trees ProtectHome=true hides; ReadWritePaths cannot make
// a data directory inside them visible again.
var homeDirs = []string{"/home", "/root", "/run/user"}

// RenderUnit returns the systemd unit for cfg. It is pure: the same cfg gives
// the same text, which the .deb package ships and Manager installs.
func RenderUnit(cfg *UnitConfig) (string, error) {
	d, err := unitDataFor(cfg)
	if err != nil {
		return "", err
	}

	var b strings.Builder
	if err = parsedUnitTemplate.Execute(&b, d); err != nil {
		return "", fmt.Errorf("rendering unit: %w", err)
	}

	return b.String(), nil
}

// unitDataFor validates cfg and returns the escaped values for the
// template.
func unitDataFor(cfg *UnitConfig) (*unitData, error) {
	if cfg == nil {
		return nil, errors.New("nil unit config")
	}

	d := &unitData{
		Name:           cfg.Name,
		ShutdownStatus: ExitShutdownRequested,
		User:           cfg.User,
		Group:          cfg.Group,
	}
	if d.Name == "" {
		d.Name = DefaultServiceName
	}
	if !serviceNameRe.MatchString(d.Name) {
		return nil, fmt.Errorf("service name %q: want letters, digits, \":_.-\"", d.Name)
	}

	desc := cfg.Description
	if desc == "" {
		desc = DefaultDescription
	}
	if strings.ContainsFunc(desc, isControl) || strings.ContainsAny(desc, "{}") {
		return nil, fmt.Errorf("description %q: control characters and braces are not allowed", desc)
	}
	// systemd expands "%" specifiers in Description.
	d.Description = strings.ReplaceAll(desc, "%", "%%")

	bin, err := checkPath("binary path", cfg.BinaryPath)
	if err != nil {
		return nil, err
	}
	d.BinaryPath = bin
	dataDir, err := checkPath("data dir", cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if dataDir == "/" {
		return nil, errors.New("data dir: the root directory is not a data directory")
	}
	for _, home := range homeDirs {
		if dataDir == home || strings.HasPrefix(dataDir, home+"/") {
			return nil, fmt.Errorf("data dir %q: inside %s, which the unit hides (ProtectHome=true)", dataDir, home)
		}
	}
	d.DataDir = dataDir
	if rel, ok := strings.CutPrefix(dataDir, stateDirRoot); ok {
		d.StateDirectory = rel
	}

	for _, acc := range []struct{ what, name string }{{"user", cfg.User}, {"group", cfg.Group}} {
		if acc.name != "" && !accountRe.MatchString(acc.name) {
			return nil, fmt.Errorf("%s %q: want a system account name", acc.what, acc.name)
		}
	}

	args := make([]string, 0, 4+len(cfg.ExtraArgs))
	args = append(args, bin, "run", "--data", dataDir)
	for i, a := range cfg.ExtraArgs {
		q, err := quoteArg(a)
		if err != nil {
			return nil, fmt.Errorf("extra argument %d: %w", i, err)
		}
		args = append(args, q)
	}
	d.ExecStart = strings.Join(args, " ")

	if d.RestartSec, err = timeSpan("restart delay", cfg.RestartDelay, DefaultRestartDelay); err != nil {
		return nil, err
	}
	if d.TimeoutStopSec, err = timeSpan("stop timeout", cfg.StopTimeout, DefaultStopTimeout); err != nil {
		return nil, err
	}

	return d, nil
}

// checkPath validates an absolute path for the unit and returns it cleaned.
func checkPath(what, p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("%s: empty", what)
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%s %q: not absolute", what, p)
	}
	p = filepath.Clean(p)
	if !safePathRe.MatchString(p) {
		return "", fmt.Errorf("%s %q: only letters, digits and \"._+,:@=/-\" are allowed", what, p)
	}

	return p, nil
}

// quoteArg returns a as one ExecStart word. Besides double quotes and
// backslashes, systemd expands "$NAME" and "%x" in ExecStart, so both are
// doubled to stay literal.
func quoteArg(a string) (string, error) {
	if strings.ContainsFunc(a, isControl) {
		return "", fmt.Errorf("%q: control characters are not allowed", a)
	}
	if strings.Contains(a, "{{") {
		// Manager hands the rendered unit to a template engine.
		return "", fmt.Errorf("%q: \"{{\" is not allowed", a)
	}
	if safeArgRe.MatchString(a) {
		return a, nil
	}

	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)

	return `"` + r.Replace(a) + `"`, nil
}

// timeSpan formats d (or def when zero) as a systemd time span.
func timeSpan(what string, d, def time.Duration) (string, error) {
	if d == 0 {
		d = def
	}
	if d < 0 {
		return "", fmt.Errorf("%s %s: negative", what, d)
	}
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10), nil
	}
	if d < time.Millisecond {
		return "", fmt.Errorf("%s %s: below systemd's millisecond resolution", what, d)
	}

	return strconv.FormatInt(d.Milliseconds(), 10) + "ms", nil
}

// isControl reports control characters, which would break a unit's lines.
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f
}
