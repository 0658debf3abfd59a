package ossvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/kardianos/service"
)

// Action is something Manager.Perform does to the service.
type Action string

// Actions.
const (
	// ActionInstall writes the unit, enables it and starts the service.
	ActionInstall Action = "install"

	// ActionUninstall stops the service if it runs, disables it and removes
	// the unit.
	ActionUninstall Action = "uninstall"

	// ActionStart starts the service.
	ActionStart Action = "start"

	// ActionStop stops the service.
	ActionStop Action = "stop"

	// ActionRestart restarts the service.
	ActionRestart Action = "restart"
)

// ParseAction returns the Action named s, for command-line use.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case ActionInstall, ActionUninstall, ActionStart, ActionStop, ActionRestart:
		return a, nil
	default:
		return "", fmt.Errorf("unknown service action %q", s)
	}
}

// Status is the state of the service.
type Status string

// Statuses.
const (
	// StatusNotInstalled means there is no such service.
	StatusNotInstalled Status = "not_installed"

	// StatusStopped means the service is installed and not running.
	StatusStopped Status = "stopped"

	// StatusRunning means the service is running (or starting).
	StatusRunning Status = "running"

	// StatusUnknown means the service manager's answer was not understood;
	// Status returns an error with it.
	StatusUnknown Status = "unknown"
)

// ErrNotInstalled is returned when an action needs the service installed.
var ErrNotInstalled = errors.New("service not installed")

// systemdPlatform is what kardianos/service reports under systemd, the only
// service manager that receives our own unit.
const systemdPlatform = "linux-systemd"

// optionSystemdScript is kardianos/service's option for a custom unit.
const optionSystemdScript = "SystemdScript"

// Manager controls the appliance's OS service.
type Manager interface {
	// Perform does action to the service.
	Perform(ctx context.Context, action Action) error

	// Status returns the service's state.
	Status(ctx context.Context) (Status, error)
}

// ManagerConfig configures a ServiceManager.
type ManagerConfig struct {
	// Logger receives progress messages. Nil means slog.Default().
	Logger *slog.Logger

	// Unit is the service to manage. Must not be nil; it is validated as
	// RenderUnit does.
	Unit *UnitConfig

	// NewService builds the platform's service controller. Nil means
	// kardianos/service's service.New; tests pass a fake so nothing is
	// installed on the test machine.
	NewService func(cfg *service.Config) (service.Service, error)
}

// ServiceManager is the Manager of a real service manager, through
// kardianos/service.
//
// kardianos/service chooses the service manager (systemd, SysV, OpenRC,
// ...) and runs its commands, but under systemd it writes our own unit, not
// its default: the unit is rendered by RenderUnit, the same text the .deb
// package ships, and handed over verbatim as the "SystemdScript" option. Its
// built-in template has changed between releases (its v1.3.0 has its own
// template syntax, writes logs to files instead of the journal and waits 120
// s between restarts), so nothing of the install may depend on it. The
// rendered unit contains no "{{", so the library's template engine passes
// it through untouched. On other service managers the library's default
// script runs the same command line.
type ServiceManager struct {
	logger   *slog.Logger
	svc      service.Service
	name     string
	platform string
}

// type check
var _ Manager = (*ServiceManager)(nil)

// NewManager returns a ServiceManager for cfg.
func NewManager(cfg *ManagerConfig) (*ServiceManager, error) {
	if cfg == nil || cfg.Unit == nil {
		return nil, errors.New("ossvc: nil config or unit")
	}

	d, err := unitDataFor(cfg.Unit)
	if err != nil {
		return nil, fmt.Errorf("ossvc: %w", err)
	}
	unit, err := RenderUnit(cfg.Unit)
	if err != nil {
		return nil, fmt.Errorf("ossvc: %w", err)
	}
	if strings.Contains(unit, "{{") {
		// Defensive: validation already keeps braces out of the unit.
		return nil, errors.New("ossvc: rendered unit contains template delimiters")
	}

	svcCfg := &service.Config{
		Name:        d.Name,
		DisplayName: d.Name,
		Description: cfg.Unit.Description,
		Executable:  d.BinaryPath,
		Arguments:   append([]string{"run", "--data", d.DataDir}, cfg.Unit.ExtraArgs...),
		UserName:    cfg.Unit.User,
		Option: service.KeyValue{
			optionSystemdScript: unit,
		},
	}
	if svcCfg.Description == "" {
		svcCfg.Description = DefaultDescription
	}

	newService := cfg.NewService
	if newService == nil {
		newService = func(c *service.Config) (service.Service, error) {
			return service.New(program{}, c)
		}
	}
	svc, err := newService(svcCfg)
	if err != nil {
		return nil, fmt.Errorf("ossvc: creating service controller: %w", err)
	}

	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}

	return &ServiceManager{
		logger:   logger.With("component", "ossvc", "service", d.Name),
		svc:      svc,
		name:     d.Name,
		platform: svc.Platform(),
	}, nil
}

// Perform implements the Manager interface for *ServiceManager. The
// underlying commands cannot be cancelled; ctx is checked between steps.
func (m *ServiceManager) Perform(ctx context.Context, action Action) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s service: %w", action, err)
	}

	var err error
	switch action {
	case ActionInstall:
		err = m.install(ctx)
	case ActionUninstall:
		err = m.uninstall(ctx)
	case ActionStart:
		err = m.svc.Start()
	case ActionStop:
		err = m.svc.Stop()
	case ActionRestart:
		err = m.svc.Restart()
	default:
		return fmt.Errorf("unknown service action %q", action)
	}
	if err != nil {
		return fmt.Errorf("%s service %s: %w", action, m.name, err)
	}
	m.logger.InfoContext(ctx, "service action done", "action", string(action), "platform", m.platform)

	return nil
}

// install writes and enables the service, then starts it, as an appliance
// is expected to be running once installed.
func (m *ServiceManager) install(ctx context.Context) error {
	if m.platform != systemdPlatform {
		m.logger.WarnContext(ctx, "not systemd: the service manager's default script is used", "platform", m.platform)
	}
	if err := m.svc.Install(); err != nil {
		return fmt.Errorf("installing: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("installed, not started: %w", err)
	}
	if err := m.svc.Start(); err != nil {
		return fmt.Errorf("installed, starting: %w", err)
	}

	return nil
}

// uninstall stops the service when it runs and removes it.
func (m *ServiceManager) uninstall(ctx context.Context) error {
	st, err := m.Status(ctx)
	switch {
	case st == StatusNotInstalled:
		return ErrNotInstalled
	case err != nil:
		// A service in a failed state still has to be removable.
		m.logger.WarnContext(ctx, "service status before uninstall", "err", err)
	case st == StatusRunning:
		if err = m.svc.Stop(); err != nil {
			return fmt.Errorf("stopping: %w", err)
		}
	}

	if err = ctx.Err(); err != nil {
		return err
	}
	if err = m.svc.Uninstall(); err != nil {
		return fmt.Errorf("removing: %w", err)
	}

	return nil
}

// Status implements the Manager interface for *ServiceManager.
func (m *ServiceManager) Status(ctx context.Context) (Status, error) {
	if err := ctx.Err(); err != nil {
		return StatusUnknown, err
	}

	st, err := m.svc.Status()
	if errors.Is(err, service.ErrNotInstalled) {
		return StatusNotInstalled, nil
	}
	if err != nil {
		return StatusUnknown, fmt.Errorf("service %s status: %w", m.name, err)
	}

	switch st {
	case service.StatusRunning:
		return StatusRunning, nil
	case service.StatusStopped:
		return StatusStopped, nil
	default:
		return StatusUnknown, fmt.Errorf("service %s status: unrecognised state %d", m.name, st)
	}
}

// program satisfies service.Interface, which kardianos/service requires even
// though only its control functions are used: under systemd the appliance
// runs as a plain process and handles SIGTERM itself.
type program struct{}

// type check
var _ service.Interface = program{}

// Start implements service.Interface for program.
func (program) Start(service.Service) error { return nil }

// Stop implements service.Interface for program.
func (program) Stop(service.Service) error { return nil }
