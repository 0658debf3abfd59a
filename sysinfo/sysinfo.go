// Package sysinfo measures what an appliance reports in its heartbeats: the
// memory and CPU of the appliance's own process tree (the worker and the
// Chromium it runs) and the state of the machine around it.
package sysinfo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultPrimeInterval is how long the first Sample waits between its two
// snapshots of CPU time, since a CPU percentage needs an interval.
const DefaultPrimeInterval = 500 * time.Millisecond

// DefaultPSSRefresh is how often each process's PSS is read from the
// kernel; see Config.PSSRefresh.
const DefaultPSSRefresh = time.Minute

// bytesPerMB converts bytes to the megabytes (MiB) reported everywhere here.
const bytesPerMB = 1 << 20

// Config configures a Sampler.
type Config struct {
	// Logger receives debug and warning messages about figures that could
	// not be read. Nil means slog.Default().
	Logger *slog.Logger

	// DataDir is the directory whose file system's free space is reported
	// as System.DiskFreeMB. It must not be empty.
	DataDir string

	// RootPID is the process whose tree is measured. Zero means the calling
	// process (os.Getpid()).
	RootPID int

	// PrimeInterval is how long the first Sample measures CPU over. Zero
	// means DefaultPrimeInterval.
	PrimeInterval time.Duration

	// PSSRefresh is how old a process's PSS may get before it is read
	// again; in between, its PSS moves with its RSS. Reading PSS costs the
	// kernel a page-table walk of a few milliseconds per Chromium process.
	// Zero means DefaultPSSRefresh; negative means every Sample.
	PSSRefresh time.Duration
}

// MemorySource says how ProcessMemoryMB was measured.
type MemorySource string

// Memory sources. PSS divides each shared page among the processes that map
// it, so a PSS sum over a process tree counts every page once; summed RSS
// counts Chromium's shared pages once per process and over-states memory
// several times.
const (
	// MemorySourcePSS means every process of the tree reported its PSS
	// (read within Config.PSSRefresh and carried forward by its RSS change
	// since).
	MemorySourcePSS MemorySource = "pss"

	// MemorySourceRSS means no process exposed its PSS, so RSS was summed.
	MemorySourceRSS MemorySource = "rss"

	// MemorySourceMixed means some processes gave PSS and others only RSS.
	MemorySourceMixed MemorySource = "mixed"
)

// Reading is one sample of the process tree and of the machine.
type Reading struct {
	// At is when the sample was taken.
	At time.Time

	// RootPID is the process the tree hangs from.
	RootPID int

	// ProcessCount is the number of processes in the tree, root included.
	ProcessCount int

	// ProcessMemoryMB is the memory of the whole tree, measured as
	// ProcessMemorySource says. This is the heartbeat's memory_usage.
	ProcessMemoryMB float64

	// ProcessMemorySource says whether ProcessMemoryMB is a PSS or RSS sum.
	ProcessMemorySource MemorySource

	// ProcessRSSMB is the plain RSS sum of the tree, kept for comparison;
	// it over-counts shared pages.
	ProcessRSSMB float64

	// ProcessCPUPercent is the share of the whole machine (all CPUs) the
	// tree used over CPUWindow, from 0 to 100. This is the heartbeat's
	// cpu_usage.
	ProcessCPUPercent float64

	// RootMemoryMB is the memory of the root process alone, measured the
	// same way as ProcessMemoryMB where possible.
	RootMemoryMB float64

	// RootCPUPercent is the share of the machine the root process alone
	// used over CPUWindow.
	RootCPUPercent float64

	// CPUWindow is the wall-clock interval the CPU figures cover: the time
	// since the previous Sample.
	CPUWindow time.Duration

	// System describes the machine.
	System System
}

// System describes the machine the tree runs on. Figures that could not be
// read are zero (or nil for the temperature) and logged by the Sampler.
type System struct {
	// NumCPU is the number of logical CPUs of the machine.
	NumCPU int

	// TotalMemoryMB is the machine's physical memory.
	TotalMemoryMB float64

	// UsedMemoryMB is total minus available memory.
	UsedMemoryMB float64

	// AvailableMemoryMB is what can be allocated without swapping
	// (MemAvailable).
	AvailableMemoryMB float64

	// Load1, Load5 and Load15 are the load averages.
	Load1, Load5, Load15 float64

	// CPUTemperatureC is the CPU temperature in degrees Celsius, or nil when
	// the machine exposes no temperature sensor.
	CPUTemperatureC *float64

	// DiskFreeMB is the space available to unprivileged users on the file
	// system holding the data directory.
	DiskFreeMB float64

	// UptimeSeconds is the time since the machine booted.
	UptimeSeconds uint64
}

// ErrRootGone is returned by Sample when the root process no longer exists.
var ErrRootGone = errors.New("root process not found")

// Sampler takes Readings. Its methods are safe for concurrent use; samples
// are taken one at a time because each CPU figure is a difference to the
// previous sample.
type Sampler struct {
	logger        *slog.Logger
	dataDir       string
	rootPID       int32
	primeInterval time.Duration
	numCPU        int

	// mu guards everything below and serialises Sample.
	mu sync.Mutex

	// scanner reads the process table; it keeps buffers between samples.
	scanner *scanner

	// prev is the tree at the previous sample; nil before the first one.
	prev *treeSnapshot

	// warned records which system figures have already logged a warning,
	// so a machine without a sensor logs it once rather than every beat.
	warned map[string]bool
}

// New returns a Sampler for cfg.
func New(ctx context.Context, cfg *Config) (*Sampler, error) {
	if cfg == nil {
		return nil, errors.New("sysinfo: nil config")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("sysinfo: empty data dir")
	}
	if cfg.RootPID < 0 {
		return nil, fmt.Errorf("sysinfo: negative root pid %d", cfg.RootPID)
	}
	if cfg.PrimeInterval < 0 {
		return nil, fmt.Errorf("sysinfo: negative prime interval %s", cfg.PrimeInterval)
	}

	s := &Sampler{
		logger:        cfg.Logger,
		dataDir:       cfg.DataDir,
		rootPID:       int32(cfg.RootPID),
		primeInterval: cfg.PrimeInterval,
		scanner:       newScanner(orDefault(cfg.PSSRefresh, DefaultPSSRefresh)),
		warned:        map[string]bool{},
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.logger = s.logger.With("component", "sysinfo")
	if s.rootPID == 0 {
		s.rootPID = int32(os.Getpid())
	}
	if s.primeInterval == 0 {
		s.primeInterval = DefaultPrimeInterval
	}

	// The CPU count of the machine does not change while we run, and a
	// percentage "of the whole machine" needs all CPUs, not only the ones
	// this process may be pinned to.
	s.numCPU = machineCPUs(ctx)

	return s, nil
}

// Sample measures the process tree and the machine. The first call measures
// CPU over PrimeInterval and so blocks that long; later calls measure since
// the previous call and return at once. It fails only when the process tree
// cannot be read; unreadable system figures are left zero and logged.
func (s *Sampler) Sample(ctx context.Context) (Reading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.prev == nil {
		prime, err := s.scanner.scan(ctx, s.rootPID)
		if err != nil {
			return Reading{}, fmt.Errorf("priming: %w", err)
		}
		s.prev = prime

		t := time.NewTimer(s.primeInterval)
		select {
		case <-ctx.Done():
			t.Stop()

			// Keep the primed snapshot: the next call measures from it.
			return Reading{}, fmt.Errorf("priming: %w", ctx.Err())
		case <-t.C:
		}
	}

	cur, err := s.scanner.scan(ctx, s.rootPID)
	if err != nil {
		return Reading{}, err
	}

	r := Reading{
		At:      cur.at,
		RootPID: int(s.rootPID),
	}
	s.fillProcess(&r, cur)
	s.fillSystem(ctx, &r.System)
	r.System.NumCPU = s.numCPU

	s.prev = cur

	return r, nil
}

// fillProcess sets the process-tree fields of r from cur and s.prev.
func (s *Sampler) fillProcess(r *Reading, cur *treeSnapshot) {
	r.ProcessCount = len(cur.procs)

	var pssProcs int
	var memBytes, rssBytes uint64
	for _, p := range cur.procs {
		rssBytes += p.rssBytes
		if p.hasPSS {
			pssProcs++
			memBytes += p.pssBytes
		} else {
			memBytes += p.rssBytes
		}
		if p.pid == s.rootPID {
			if p.hasPSS {
				r.RootMemoryMB = float64(p.pssBytes) / bytesPerMB
			} else {
				r.RootMemoryMB = float64(p.rssBytes) / bytesPerMB
			}
		}
	}
	r.ProcessMemoryMB = float64(memBytes) / bytesPerMB
	r.ProcessRSSMB = float64(rssBytes) / bytesPerMB

	switch pssProcs {
	case len(cur.procs):
		r.ProcessMemorySource = MemorySourcePSS
	case 0:
		r.ProcessMemorySource = MemorySourceRSS
	default:
		r.ProcessMemorySource = MemorySourceMixed
	}

	window := cur.at.Sub(s.prev.at)
	r.CPUWindow = window
	treeCPU, rootCPU := cpuDelta(s.prev, cur, s.rootPID)
	r.ProcessCPUPercent = cpuPercent(treeCPU, window, s.numCPU)
	r.RootCPUPercent = cpuPercent(rootCPU, window, s.numCPU)
}

// orDefault returns v, or def when v is zero.
func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}

	return v
}

// cpuPercent turns CPU time used over window into a share of numCPU CPUs,
// clamped to [0, 100]: tick rounding can push a saturated machine a little
// over 100.
func cpuPercent(used, window time.Duration, numCPU int) float64 {
	if window <= 0 || numCPU <= 0 || used <= 0 {
		return 0
	}
	p := float64(used) / (float64(window) * float64(numCPU)) * 100

	return min(p, 100)
}

// warnOnce logs a figure's read failure at warning level the first time and
// at debug level afterwards. s.mu must be held.
func (s *Sampler) warnOnce(ctx context.Context, figure string, err error) {
	if s.warned[figure] {
		s.logger.DebugContext(ctx, "reading system figure", "figure", figure, "err", err)

		return
	}
	s.warned[figure] = true
	s.logger.WarnContext(ctx, "reading system figure", "figure", figure, "err", err)
}
