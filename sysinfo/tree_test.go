package sysinfo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ms is shorthand for CPU times in the tables below.
const ms = time.Millisecond

// proc builds a procSample with the given CPU times.
func proc(pid, ppid int32, start uint64, self, reaped time.Duration) procSample {
	return procSample{pid: pid, ppid: ppid, start: start, selfCPU: self, reapedCPU: reaped}
}

// snap builds a snapshot of procs; machine is every live process's start.
func snap(machine map[int32]uint64, procs ...procSample) *treeSnapshot {
	if machine == nil {
		machine = map[int32]uint64{}
		for _, p := range procs {
			machine[p.pid] = p.start
		}
	}

	return &treeSnapshot{procs: procs, machine: machine}
}

func TestCPUDelta(t *testing.T) {
	const root = 10

	testCases := []struct {
		name     string
		prev     *treeSnapshot
		cur      *treeSnapshot
		wantTree time.Duration
		wantRoot time.Duration
	}{{
		name:     "steady",
		prev:     snap(nil, proc(root, 1, 5, 100*ms, 0), proc(11, root, 6, 50*ms, 0)),
		cur:      snap(nil, proc(root, 1, 5, 130*ms, 0), proc(11, root, 6, 250*ms, 0)),
		wantTree: 230 * ms,
		wantRoot: 30 * ms,
	}, {
		name:     "new child counts fully",
		prev:     snap(nil, proc(root, 1, 5, 100*ms, 0)),
		cur:      snap(nil, proc(root, 1, 5, 100*ms, 0), proc(12, root, 9, 70*ms, 0)),
		wantTree: 70 * ms,
		wantRoot: 0,
	}, {
		name: "reaped child counted once",
		// The child had used 50ms at prev and 80ms when it exited; its
		// parent's reaped time grew by the whole 80ms.
		prev:     snap(nil, proc(root, 1, 5, 100*ms, 0), proc(11, root, 6, 50*ms, 0)),
		cur:      snap(nil, proc(root, 1, 5, 100*ms, 80*ms)),
		wantTree: 30 * ms,
		wantRoot: 0,
	}, {
		name: "orphan still running stops counting",
		prev: snap(nil, proc(root, 1, 5, 100*ms, 0), proc(11, root, 6, 50*ms, 0)),
		cur: snap(map[int32]uint64{root: 5, 11: 6},
			proc(root, 1, 5, 110*ms, 0)),
		wantTree: 10 * ms,
		wantRoot: 10 * ms,
	}, {
		name:     "reused pid is a new process",
		prev:     snap(nil, proc(root, 1, 5, 100*ms, 0), proc(11, root, 6, 500*ms, 0)),
		cur:      snap(nil, proc(root, 1, 5, 100*ms, 500*ms), proc(11, root, 7, 20*ms, 0)),
		wantTree: 20 * ms,
		wantRoot: 0,
	}, {
		name: "orphan reaped outside the tree clamps at zero",
		prev: snap(nil, proc(root, 1, 5, 100*ms, 0), proc(11, root, 6, 500*ms, 0)),
		cur: snap(map[int32]uint64{root: 5},
			proc(root, 1, 5, 101*ms, 0)),
		wantTree: 0,
		wantRoot: 1 * ms,
	}}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			tree, rootSelf := cpuDelta(tc.prev, tc.cur, root)
			assert.Equal(t, tc.wantTree, tree)
			assert.Equal(t, tc.wantRoot, rootSelf)
		})
	}
}

func TestTreeMembers(t *testing.T) {
	// Pids wrap, so a child may have a lower pid than its parent, and the
	// table is in no particular order.
	all := []procSample{
		{pid: 1, ppid: 0},
		{pid: 5, ppid: 900},   // grandchild of the root, listed before its parent
		{pid: 42, ppid: 1},    // the root
		{pid: 77, ppid: 1},    // unrelated
		{pid: 78, ppid: 77},   // child of the unrelated one
		{pid: 900, ppid: 42},  // child of the root
		{pid: 901, ppid: 42},  // child of the root
		{pid: 902, ppid: 999}, // parent not in the table (exited)
		{pid: 903, ppid: 903}, // self-parented, torn read
	}
	index := map[int32]int{}
	for i, p := range all {
		index[p.pid] = i
	}
	state := make([]memberState, len(all))

	treeMembers(all, index, state, 42)

	var in []int32
	for i, p := range all {
		require.NotEqual(t, memberUnknown, state[i], "pid %d resolved", p.pid)
		if state[i] == memberIn {
			in = append(in, p.pid)
		}
	}
	assert.ElementsMatch(t, []int32{5, 42, 900, 901}, in)
}

func TestCPUPercent(t *testing.T) {
	testCases := []struct {
		name   string
		used   time.Duration
		window time.Duration
		cpus   int
		want   float64
	}{
		{name: "one of two cores", used: time.Second, window: time.Second, cpus: 2, want: 50},
		{name: "quarter of four", used: time.Second, window: time.Second, cpus: 4, want: 25},
		{name: "rounding over full", used: 2100 * ms, window: time.Second, cpus: 2, want: 100},
		{name: "no window", used: time.Second, window: 0, cpus: 2, want: 0},
		{name: "nothing used", used: 0, window: time.Second, cpus: 2, want: 0},
	}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.want, cpuPercent(tc.used, tc.window, tc.cpus), 1e-9)
		})
	}
}
