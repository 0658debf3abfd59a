package sysinfo

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helperEnv selects a helper role when the test binary re-executes itself.
const helperEnv = "TIDEWATCH_SYSINFO_HELPER"

// Helper roles.
const (
	// roleParent starts a roleBurner child, forwards its "ready" line, and
	// stays idle, so the burner is a grandchild of the test process.
	roleParent = "parent"

	// roleBurner allocates and touches helperAllocMB, prints "ready" and
	// burns CPU until its stdin closes.
	roleBurner = "burner"
)

// helperAllocMB is the memory the burner holds.
const helperAllocMB = 64

// TestMain runs the helper roles in re-executed copies of the test binary.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case roleParent:
		runParent()
	case roleBurner:
		runBurner()
	default:
		os.Exit(m.Run())
	}
}

// runParent is the roleParent helper.
func runParent() {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+roleBurner)
	cmd.Stdin = os.Stdin
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		os.Exit(3)
	}
	if err = cmd.Start(); err != nil {
		os.Exit(3)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	_, _ = os.Stdout.WriteString(line)
	_ = cmd.Wait()
	os.Exit(0)
}

// runBurner is the roleBurner helper.
func runBurner() {
	mem := make([]byte, helperAllocMB<<20)
	for i := range len(mem) / 4096 {
		mem[i*4096] = byte(i)
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	_, _ = os.Stdout.WriteString("ready\n")

	x := 0
	for {
		select {
		case <-done:
			runtime.KeepAlive(mem)
			// Using x keeps the compiler from dropping the busy loop.
			if x == -1 {
				os.Exit(4)
			}
			os.Exit(0)
		default:
		}
		for i := range 100_000 {
			x += i
		}
	}
}

// startTree starts a parent helper with a burning grandchild and waits until
// the grandchild holds its memory. Cleanup closes their stdin and waits.
func startTree(t *testing.T) {
	t.Helper()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+roleParent)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})

	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready", strings.TrimSpace(line))
}

// newTestSampler returns a Sampler over this test process with a short
// prime interval.
func newTestSampler(t *testing.T, rootPID int) *Sampler {
	t.Helper()

	s, err := New(context.Background(), &Config{
		DataDir:       t.TempDir(),
		RootPID:       rootPID,
		PrimeInterval: 300 * time.Millisecond,
	})
	require.NoError(t, err)

	return s
}

func TestSampler_treeIncludesDescendants(t *testing.T) {
	ctx := context.Background()
	s := newTestSampler(t, 0)

	alone, err := s.Sample(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, alone.ProcessCount, "no children yet")

	startTree(t)

	// The first sample after the children start measures from the sample
	// above, before they existed, so their whole CPU time counts.
	r, err := s.Sample(ctx)
	require.NoError(t, err)

	assert.Equal(t, os.Getpid(), r.RootPID)
	assert.GreaterOrEqual(t, r.ProcessCount, 3, "root, helper parent and burning grandchild")
	assert.Equal(t, MemorySourcePSS, r.ProcessMemorySource, "our own processes expose smaps_rollup")
	assert.Greater(t, r.ProcessMemoryMB-r.RootMemoryMB, float64(helperAllocMB)*0.75,
		"the grandchild's touched allocation counts in the tree")
	assert.GreaterOrEqual(t, r.ProcessRSSMB, r.ProcessMemoryMB, "PSS never exceeds RSS")
	assert.Greater(t, r.ProcessCPUPercent, 0.0)
	assert.Greater(t, r.ProcessCPUPercent, r.RootCPUPercent, "the burner's CPU counts in the tree")
	assert.LessOrEqual(t, r.ProcessCPUPercent, 100.0)
	assert.Positive(t, r.CPUWindow)

	// A steady-state sample over a fresh window still sees the burner.
	time.Sleep(300 * time.Millisecond)
	r2, err := s.Sample(ctx)
	require.NoError(t, err)
	assert.Greater(t, r2.ProcessCPUPercent, r2.RootCPUPercent)
	assert.Greater(t, r2.ProcessMemoryMB, r2.RootMemoryMB+float64(helperAllocMB)*0.75)
}

func TestSampler_firstSamplePrimes(t *testing.T) {
	ctx := context.Background()
	startTree(t)
	s := newTestSampler(t, 0)

	r, err := s.Sample(ctx)
	require.NoError(t, err)

	assert.GreaterOrEqual(t, r.CPUWindow, 300*time.Millisecond, "first sample measures over the prime interval")
	assert.GreaterOrEqual(t, r.ProcessCount, 3)
	assert.Greater(t, r.ProcessCPUPercent, r.RootCPUPercent, "the burner's CPU counts in the tree")
}

func TestSampler_systemFigures(t *testing.T) {
	s := newTestSampler(t, 0)

	r, err := s.Sample(context.Background())
	require.NoError(t, err)

	sys := r.System
	assert.GreaterOrEqual(t, sys.NumCPU, 1)
	assert.Positive(t, sys.TotalMemoryMB)
	assert.Positive(t, sys.AvailableMemoryMB)
	assert.LessOrEqual(t, sys.AvailableMemoryMB, sys.TotalMemoryMB)
	assert.InDelta(t, sys.TotalMemoryMB, sys.UsedMemoryMB+sys.AvailableMemoryMB, 0.001)
	assert.GreaterOrEqual(t, sys.Load1, 0.0)
	assert.GreaterOrEqual(t, sys.Load15, 0.0)
	assert.Positive(t, sys.DiskFreeMB)
	assert.Positive(t, sys.UptimeSeconds)
	if sys.CPUTemperatureC != nil {
		assert.True(t, plausibleTemperature(*sys.CPUTemperatureC), "temperature %v", *sys.CPUTemperatureC)
	}
	assert.Less(t, r.ProcessMemoryMB, sys.TotalMemoryMB)
	assert.WithinDuration(t, time.Now(), r.At, time.Minute)
}

func TestSampler_rootGone(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	require.NoError(t, cmd.Run())
	s := newTestSampler(t, cmd.Process.Pid)

	_, err := s.Sample(context.Background())
	assert.ErrorIs(t, err, ErrRootGone)
}

func TestSampler_cancelledWhilePriming(t *testing.T) {
	s, err := New(context.Background(), &Config{DataDir: t.TempDir(), PrimeInterval: time.Hour})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = s.Sample(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// The primed snapshot is kept, so the next call does not wait an hour.
	r, err := s.Sample(context.Background())
	require.NoError(t, err)
	assert.Positive(t, r.CPUWindow)
}

func TestNew_badConfig(t *testing.T) {
	testCases := []struct {
		name       string
		cfg        *Config
		wantErrMsg string
	}{{
		name:       "nil",
		cfg:        nil,
		wantErrMsg: "sysinfo: nil config",
	}, {
		name:       "no data dir",
		cfg:        &Config{},
		wantErrMsg: "sysinfo: empty data dir",
	}, {
		name:       "negative pid",
		cfg:        &Config{DataDir: "/", RootPID: -1},
		wantErrMsg: "sysinfo: negative root pid -1",
	}, {
		name:       "negative prime",
		cfg:        &Config{DataDir: "/", PrimeInterval: -time.Second},
		wantErrMsg: "sysinfo: negative prime interval -1s",
	}}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), tc.cfg)
			assert.EqualError(t, err, tc.wantErrMsg)
		})
	}
}

func BenchmarkSampler_Sample(b *testing.B) {
	ctx := context.Background()
	s, err := New(ctx, &Config{DataDir: b.TempDir(), PrimeInterval: time.Millisecond})
	require.NoError(b, err)
	_, err = s.Sample(ctx)
	require.NoError(b, err)

	b.ReportAllocs()
	for b.Loop() {
		if _, err = s.Sample(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
