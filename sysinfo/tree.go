package sysinfo

import (
	"fmt"
	"time"
)

// procSample is one process of the tree at one scan.
type procSample struct {
	// pid and ppid are the process and its parent.
	pid, ppid int32

	// start is the process's start time in an OS-specific unit; together
	// with pid it tells a process from a later one that reused its pid.
	start uint64

	// selfCPU is the user plus system time the process itself used.
	selfCPU time.Duration

	// reapedCPU is the user plus system time of the children the process
	// waited for: the kernel moves a child's whole CPU time there when its
	// parent reaps it, so a tree's CPU time survives children exiting.
	reapedCPU time.Duration

	// rssBytes is the resident set size.
	rssBytes uint64

	// pssBytes is the proportional set size; valid when hasPSS.
	pssBytes uint64

	// hasPSS is true when the OS gave the process's PSS.
	hasPSS bool
}

// key identifies the process across scans.
func (p *procSample) key() procKey {
	return procKey{pid: p.pid, start: p.start}
}

// totalCPU is all CPU time accounted to the process.
func (p *procSample) totalCPU() time.Duration {
	return p.selfCPU + p.reapedCPU
}

// procKey identifies a process across scans, robust to pid reuse.
type procKey struct {
	pid   int32
	start uint64
}

// treeSnapshot is one scan of a process tree.
type treeSnapshot struct {
	// at is when the scan started.
	at time.Time

	// procs is the tree, root first.
	procs []procSample

	// machine maps the pid of every process on the machine at the scan to
	// its start time. It is owned by the scanner and only valid until the
	// next scan; it tells a process that left the tree (re-parented to init
	// but still running) from one that exited.
	machine map[int32]uint64
}

// find returns the process with key k in procs. Trees are a few dozen
// processes, so a linear search beats building a map on every sample.
func find(procs []procSample, k procKey) (*procSample, bool) {
	for i := range procs {
		if procs[i].key() == k {
			return &procs[i], true
		}
	}

	return nil, false
}

// cpuDelta returns the CPU time the tree and the root process alone used
// between prev and cur.
//
// A process present in both scans contributes its difference; a new process
// contributes everything it used (it was forked inside the window). A
// process that exited was reaped by its parent, whose reapedCPU then grew by
// the child's whole lifetime, so the part already counted at prev is taken
// off again. A process that left the tree while still running (orphans
// re-parented to init, like Chromium's crash handler) only stops counting.
// Orphans that exit before the next scan are reaped outside the tree and are
// under-counted, which the clamp at zero bounds.
func cpuDelta(prev, cur *treeSnapshot, root int32) (tree, rootSelf time.Duration) {
	for i := range cur.procs {
		c := &cur.procs[i]
		p, ok := find(prev.procs, c.key())
		if !ok {
			tree += c.totalCPU()
			if c.pid == root {
				rootSelf = c.selfCPU
			}

			continue
		}
		tree += c.totalCPU() - p.totalCPU()
		if c.pid == root {
			rootSelf = c.selfCPU - p.selfCPU
		}
	}

	for i := range prev.procs {
		p := &prev.procs[i]
		if _, ok := find(cur.procs, p.key()); ok {
			continue
		}
		if start, alive := cur.machine[p.pid]; alive && start == p.start {
			continue
		}
		tree -= p.totalCPU()
	}

	return max(tree, 0), max(rootSelf, 0)
}

// treeMembers marks which of all (the machine's processes) belong to the
// tree rooted at root, walking parent links with memoisation so the whole
// table costs O(n). index maps pid to position in all; state is scratch
// space of len(all) reused between scans.
func treeMembers(all []procSample, index map[int32]int, state []memberState, root int32) {
	for i := range state {
		state[i] = memberUnknown
	}

	// chain holds the unresolved ancestors on the current walk; it is
	// small (tree depth) so it lives on the stack in the common case.
	var chainBuf [32]int
	for i := range all {
		chain := chainBuf[:0]
		j := i
		result := memberOut
		for {
			if state[j] != memberUnknown {
				result = state[j]

				break
			}
			if all[j].pid == root {
				result = memberIn

				break
			}
			chain = append(chain, j)
			parent, ok := index[all[j].ppid]
			// A pid that is its own parent would loop; the kernel never
			// reports one, but a torn read could.
			if !ok || all[j].ppid == all[j].pid || len(chain) > len(all) {
				break
			}
			j = parent
		}
		if all[j].pid == root {
			state[j] = memberIn
		}
		for _, k := range chain {
			state[k] = result
		}
	}
}

// memberState is the tree membership of one process during a scan.
type memberState uint8

// Membership states.
const (
	// memberUnknown means not yet resolved.
	memberUnknown memberState = iota

	// memberIn means the process is the root or descends from it.
	memberIn

	// memberOut means the process is outside the tree.
	memberOut
)

// snapshotOf picks the tree rooted at root out of every process on the
// machine, root first. state is scratch space reused between scans. It
// returns an error wrapping ErrRootGone when root is not in the list.
func snapshotOf(all []procSample, index map[int32]int, state *[]memberState, machine map[int32]uint64, root int32, at time.Time) (*treeSnapshot, error) {
	rootIdx, ok := index[root]
	if !ok {
		return nil, fmt.Errorf("pid %d: %w", root, ErrRootGone)
	}
	if cap(*state) < len(all) {
		*state = make([]memberState, len(all))
	}
	*state = (*state)[:len(all)]
	treeMembers(all, index, *state, root)

	snap := &treeSnapshot{at: at, machine: machine}
	snap.procs = append(snap.procs, all[rootIdx])
	for i := range all {
		if (*state)[i] == memberIn && i != rootIdx {
			snap.procs = append(snap.procs, all[i])
		}
	}
	return snap, nil
}
