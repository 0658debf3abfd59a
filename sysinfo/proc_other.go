//go:build !linux

package sysinfo

import (
	"context"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// scanner reads the process table through gopsutil where there is no /proc.
// The appliance ships for Linux; this keeps the package building and roughly
// right elsewhere (development machines). PSS is not available, so memory is
// an RSS sum.
type scanner struct {
	// all, index, state and machine are reused between scans.
	all     []procSample
	index   map[int32]int
	state   []memberState
	machine map[int32]uint64
}

// newScanner returns a scanner; without PSS, pssRefresh is unused.
func newScanner(time.Duration) *scanner {
	return &scanner{index: map[int32]int{}, machine: map[int32]uint64{}}
}

// scan reads the tree rooted at root. It returns an error wrapping
// ErrRootGone when root does not exist.
func (sc *scanner) scan(ctx context.Context, root int32) (*treeSnapshot, error) {
	at := time.Now()

	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}

	sc.all = sc.all[:0]
	clear(sc.index)
	clear(sc.machine)
	for _, p := range procs {
		ppid, err := p.PpidWithContext(ctx)
		if err != nil {
			continue
		}
		created, _ := p.CreateTimeWithContext(ctx)
		s := procSample{pid: p.Pid, ppid: ppid, start: uint64(max(created, 0))}
		sc.index[s.pid] = len(sc.all)
		sc.machine[s.pid] = s.start
		sc.all = append(sc.all, s)
	}

	snap, err := snapshotOf(sc.all, sc.index, &sc.state, sc.machine, root, at)
	if err != nil {
		return nil, err
	}
	for i := range snap.procs {
		s := &snap.procs[i]
		p := &process.Process{Pid: s.pid}
		if t, err := p.TimesWithContext(ctx); err == nil {
			s.selfCPU = time.Duration((t.User + t.System) * float64(time.Second))
		}
		if m, err := p.MemoryInfoWithContext(ctx); err == nil {
			s.rssBytes = m.RSS
		}
	}

	return snap, nil
}
