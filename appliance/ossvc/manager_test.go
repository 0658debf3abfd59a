package ossvc

import (
	"context"
	"errors"
	"testing"

	"github.com/kardianos/service"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeService is a service.Service whose methods record their calls and
// call the OnX fields; a nil OnX panics, so unexpected calls fail the test.
type fakeService struct {
	calls    []string
	platform string

	OnInstall   func() error
	OnUninstall func() error
	OnStart     func() error
	OnStop      func() error
	OnRestart   func() error
	OnStatus    func() (service.Status, error)
}

// type check
var _ service.Service = (*fakeService)(nil)

// Run implements service.Service for *fakeService.
func (f *fakeService) Run() error { panic("unexpected Run") }

// Start implements service.Service for *fakeService.
func (f *fakeService) Start() error { f.calls = append(f.calls, "start"); return f.OnStart() }

// Stop implements service.Service for *fakeService.
func (f *fakeService) Stop() error { f.calls = append(f.calls, "stop"); return f.OnStop() }

// Restart implements service.Service for *fakeService.
func (f *fakeService) Restart() error { f.calls = append(f.calls, "restart"); return f.OnRestart() }

// Install implements service.Service for *fakeService.
func (f *fakeService) Install() error { f.calls = append(f.calls, "install"); return f.OnInstall() }

// Uninstall implements service.Service for *fakeService.
func (f *fakeService) Uninstall() error {
	f.calls = append(f.calls, "uninstall")

	return f.OnUninstall()
}

// Logger implements service.Service for *fakeService.
func (f *fakeService) Logger(chan<- error) (service.Logger, error) { panic("unexpected Logger") }

// SystemLogger implements service.Service for *fakeService.
func (f *fakeService) SystemLogger(chan<- error) (service.Logger, error) {
	panic("unexpected SystemLogger")
}

// String implements service.Service for *fakeService.
func (f *fakeService) String() string { return "fake" }

// Platform implements service.Service for *fakeService.
func (f *fakeService) Platform() string { return f.platform }

// Status implements service.Service for *fakeService.
func (f *fakeService) Status() (service.Status, error) {
	f.calls = append(f.calls, "status")

	return f.OnStatus()
}

// ok is an OnX callback that succeeds.
func ok() error { return nil }

// newTestManager returns a Manager over fake and the service.Config it was
// built with.
func newTestManager(t *testing.T, fake *fakeService) (*ServiceManager, *service.Config) {
	t.Helper()

	var got *service.Config
	m, err := NewManager(&ManagerConfig{
		Unit: &UnitConfig{
			BinaryPath: DefaultBinaryPath,
			DataDir:    DefaultDataDir,
			User:       "tidewatch",
			ExtraArgs:  []string{"--log-level", "debug"},
		},
		NewService: func(c *service.Config) (service.Service, error) {
			got = c

			return fake, nil
		},
	})
	require.NoError(t, err)
	require.NotNil(t, got)

	return m, got
}

func TestNewManager_passesOurUnit(t *testing.T) {
	_, cfg := newTestManager(t, &fakeService{platform: systemdPlatform})

	want, err := RenderUnit(&UnitConfig{
		BinaryPath: DefaultBinaryPath,
		DataDir:    DefaultDataDir,
		User:       "tidewatch",
		ExtraArgs:  []string{"--log-level", "debug"},
	})
	require.NoError(t, err)

	assert.Equal(t, DefaultServiceName, cfg.Name)
	assert.Equal(t, DefaultBinaryPath, cfg.Executable)
	assert.Equal(t, []string{"run", "--data", DefaultDataDir, "--log-level", "debug"}, cfg.Arguments)
	assert.Equal(t, "tidewatch", cfg.UserName)
	assert.Equal(t, want, cfg.Option[optionSystemdScript])
}

func TestNewManager_badConfig(t *testing.T) {
	_, err := NewManager(nil)
	assert.EqualError(t, err, "ossvc: nil config or unit")

	_, err = NewManager(&ManagerConfig{Unit: &UnitConfig{BinaryPath: "relative", DataDir: DefaultDataDir}})
	assert.EqualError(t, err, `ossvc: binary path "relative": not absolute`)
}

func TestServiceManager_Perform(t *testing.T) {
	errBoom := errors.New("boom")
	running := func() (service.Status, error) { return service.StatusRunning, nil }
	stopped := func() (service.Status, error) { return service.StatusStopped, nil }

	testCases := []struct {
		name      string
		action    Action
		fake      *fakeService
		wantCalls []string
		wantErr   error
	}{{
		name:      "install starts",
		action:    ActionInstall,
		fake:      &fakeService{OnInstall: ok, OnStart: ok},
		wantCalls: []string{"install", "start"},
	}, {
		name:      "install fails, no start",
		action:    ActionInstall,
		fake:      &fakeService{OnInstall: func() error { return errBoom }},
		wantCalls: []string{"install"},
		wantErr:   errBoom,
	}, {
		name:      "uninstall running stops first",
		action:    ActionUninstall,
		fake:      &fakeService{OnStatus: running, OnStop: ok, OnUninstall: ok},
		wantCalls: []string{"status", "stop", "uninstall"},
	}, {
		name:      "uninstall stopped",
		action:    ActionUninstall,
		fake:      &fakeService{OnStatus: stopped, OnUninstall: ok},
		wantCalls: []string{"status", "uninstall"},
	}, {
		name:   "uninstall failed unit",
		action: ActionUninstall,
		fake: &fakeService{
			OnStatus:    func() (service.Status, error) { return service.StatusUnknown, errors.New("service in failed state") },
			OnUninstall: ok,
		},
		wantCalls: []string{"status", "uninstall"},
	}, {
		name:   "uninstall not installed",
		action: ActionUninstall,
		fake: &fakeService{
			OnStatus: func() (service.Status, error) { return service.StatusUnknown, service.ErrNotInstalled },
		},
		wantCalls: []string{"status"},
		wantErr:   ErrNotInstalled,
	}, {
		name:      "start",
		action:    ActionStart,
		fake:      &fakeService{OnStart: ok},
		wantCalls: []string{"start"},
	}, {
		name:      "stop",
		action:    ActionStop,
		fake:      &fakeService{OnStop: ok},
		wantCalls: []string{"stop"},
	}, {
		name:      "restart fails",
		action:    ActionRestart,
		fake:      &fakeService{OnRestart: func() error { return errBoom }},
		wantCalls: []string{"restart"},
		wantErr:   errBoom,
	}}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.fake.platform = systemdPlatform
			m, _ := newTestManager(t, tc.fake)

			err := m.Perform(context.Background(), tc.action)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, tc.wantCalls, tc.fake.calls)
		})
	}
}

func TestServiceManager_Perform_rejects(t *testing.T) {
	fake := &fakeService{platform: systemdPlatform}
	m, _ := newTestManager(t, fake)

	err := m.Perform(context.Background(), Action("reboot"))
	assert.EqualError(t, err, `unknown service action "reboot"`)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = m.Perform(ctx, ActionInstall)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, fake.calls)
}

func TestServiceManager_Status(t *testing.T) {
	testCases := []struct {
		name    string
		status  service.Status
		err     error
		want    Status
		wantErr bool
	}{
		{name: "running", status: service.StatusRunning, want: StatusRunning},
		{name: "stopped", status: service.StatusStopped, want: StatusStopped},
		{name: "not installed", status: service.StatusUnknown, err: service.ErrNotInstalled, want: StatusNotInstalled},
		{name: "failed", status: service.StatusUnknown, err: errors.New("service in failed state"), want: StatusUnknown, wantErr: true},
		{name: "odd state", status: service.StatusUnknown, want: StatusUnknown, wantErr: true},
	}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeService{
				platform: systemdPlatform,
				OnStatus: func() (service.Status, error) { return tc.status, tc.err },
			}
			m, _ := newTestManager(t, fake)

			got, err := m.Status(context.Background())
			assert.Equal(t, tc.want, got)
			if tc.wantErr {
				assert.Error(t, err)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	for _, a := range []Action{ActionInstall, ActionUninstall, ActionStart, ActionStop, ActionRestart} {
		got, err := ParseAction(string(a))
		require.NoError(t, err)
		assert.Equal(t, a, got)
	}

	_, err := ParseAction("status")
	assert.EqualError(t, err, `unknown service action "status"`)
}
