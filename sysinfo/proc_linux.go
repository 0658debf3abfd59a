//go:build linux

package sysinfo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// The process table is read straight from /proc rather than through
// gopsutil's process package: gopsutil reads /proc/PID/stat once per
// accessor (parent, times, start) and recomputes the boot time (another read
// of /proc/stat) on each, which multiplied by every process on the machine
// is most of a heartbeat's cost on a Raspberry Pi. One read of each stat file
// gives everything needed here.

// procRoot is where the proc file system is mounted.
const procRoot = "/proc"

// userHZ is the unit of the CPU times in /proc/PID/stat. The kernel exports
// them in USER_HZ, which is 100 on every architecture Linux user space
// supports (sysconf(_SC_CLK_TCK) returns the same constant).
const userHZ = 100

// tick is the duration of one USER_HZ tick.
const tick = time.Second / userHZ

// scanner reads the process table. It keeps its buffers between scans so a
// heartbeat allocates little; it is not safe for concurrent use.
type scanner struct {
	// buf holds the contents of one stat or smaps_rollup file.
	buf []byte

	// path builds /proc/PID/file names.
	path []byte

	// all is every process of the machine at the last scan.
	all []procSample

	// index maps a pid to its position in all.
	index map[int32]int

	// state is treeMembers' scratch space.
	state []memberState

	// machine maps every pid to its start time; see treeSnapshot.machine.
	machine map[int32]uint64

	// pageSize converts the RSS in pages to bytes.
	pageSize uint64

	// pssRefresh is how old a cached PSS may get; see Config.PSSRefresh.
	pssRefresh time.Duration

	// pss and nextPSS cache the PSS of the tree's processes. They swap
	// every scan, so processes that left the tree drop out.
	pss, nextPSS map[procKey]pssReading

	// pssReads counts smaps_rollup reads, for tests.
	pssReads int
}

// pssReading is a process's PSS as last read from the kernel.
type pssReading struct {
	// at is when it was read.
	at time.Time

	// pssBytes is the PSS then.
	pssBytes uint64

	// rssBytes is the RSS then, to carry the PSS forward by the RSS's
	// change until the next read.
	rssBytes uint64
}

// newScanner returns a scanner that reads a process's PSS again once its
// cached value is pssRefresh old; a negative pssRefresh reads it every scan.
func newScanner(pssRefresh time.Duration) *scanner {
	return &scanner{
		buf:        make([]byte, 4096),
		path:       make([]byte, 0, 64),
		index:      map[int32]int{},
		machine:    map[int32]uint64{},
		pageSize:   uint64(os.Getpagesize()),
		pssRefresh: pssRefresh,
		pss:        map[procKey]pssReading{},
		nextPSS:    map[procKey]pssReading{},
	}
}

// scan reads the tree rooted at root. It returns an error wrapping
// ErrRootGone when root does not exist.
func (sc *scanner) scan(ctx context.Context, root int32) (*treeSnapshot, error) {
	at := time.Now()

	d, err := os.Open(procRoot)
	if err != nil {
		return nil, fmt.Errorf("opening proc: %w", err)
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return nil, fmt.Errorf("listing proc: %w", err)
	}

	sc.all = sc.all[:0]
	clear(sc.index)
	clear(sc.machine)
	for i, name := range names {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("scanning processes: %w", ctx.Err())
		}
		if name == "" || name[0] < '0' || name[0] > '9' {
			// Not a process directory ("self", "meminfo", ...). Checked
			// before parsing because a parse error allocates.
			continue
		}
		pid, err := strconv.ParseInt(name, 10, 32)
		if err != nil {
			continue
		}
		p, err := sc.readStat(int32(pid))
		if err != nil {
			// The process exited between listing and reading.
			continue
		}
		sc.index[p.pid] = len(sc.all)
		sc.machine[p.pid] = p.start
		sc.all = append(sc.all, p)
	}

	snap, err := snapshotOf(sc.all, sc.index, &sc.state, sc.machine, root, at)
	if err != nil {
		return nil, err
	}
	sc.fillPSS(snap)

	return snap, nil
}

// fillPSS sets the PSS of snap's processes. Reading smaps_rollup makes the
// kernel walk the process's page tables: a few milliseconds per Chromium
// process, most of a heartbeat's cost. So a process's PSS is read when it is
// first seen and then every pssRefresh; in between it is carried forward by
// the change of its RSS, which follows it closely because memory a process
// gains or loses is mostly private.
func (sc *scanner) fillPSS(snap *treeSnapshot) {
	clear(sc.nextPSS)
	for i := range snap.procs {
		p := &snap.procs[i]
		k := p.key()
		c, ok := sc.pss[k]
		if !ok || sc.pssRefresh < 0 || snap.at.Sub(c.at) >= sc.pssRefresh {
			sc.pssReads++
			pss, hasPSS := sc.readPSS(p.pid)
			if !hasPSS {
				continue
			}
			c = pssReading{at: snap.at, pssBytes: pss, rssBytes: p.rssBytes}
		}
		p.pssBytes = uint64(max(int64(c.pssBytes)+int64(p.rssBytes)-int64(c.rssBytes), 0))
		p.hasPSS = true
		sc.nextPSS[k] = c
	}
	sc.pss, sc.nextPSS = sc.nextPSS, sc.pss
}

// procPath returns /proc/PID/file in sc.path's storage.
func (sc *scanner) procPath(pid int32, file string) string {
	sc.path = append(sc.path[:0], procRoot...)
	sc.path = append(sc.path, '/')
	sc.path = strconv.AppendInt(sc.path, int64(pid), 10)
	sc.path = append(sc.path, '/')
	sc.path = append(sc.path, file...)

	return string(sc.path)
}

// readFile reads the file at path into sc.buf, growing it as needed, and
// returns the filled part.
func (sc *scanner) readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()

	n := 0
	for {
		if n == len(sc.buf) {
			sc.buf = append(sc.buf, make([]byte, len(sc.buf))...)
		}
		m, err := f.Read(sc.buf[n:])
		n += m
		if errors.Is(err, io.EOF) || (err == nil && m == 0) {
			return sc.buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readStat parses /proc/PID/stat.
func (sc *scanner) readStat(pid int32) (procSample, error) {
	data, err := sc.readFile(sc.procPath(pid, "stat"))
	if err != nil {
		return procSample{}, err
	}

	return parseStat(pid, data, sc.pageSize)
}

// Field numbers of /proc/PID/stat as proc(5) counts them (from 1).
const (
	statPPID      = 4
	statUTime     = 14
	statSTime     = 15
	statCUTime    = 16
	statCSTime    = 17
	statStartTime = 22
	statRSS       = 24
)

// parseStat parses the contents of /proc/PID/stat; pageSize converts the
// RSS from pages to bytes.
func parseStat(pid int32, data []byte, pageSize uint64) (procSample, error) {
	// The command name (field 2) is in parentheses and may itself contain
	// spaces and parentheses, so fields are counted from the last ')'.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return procSample{}, fmt.Errorf("pid %d: malformed stat", pid)
	}

	var vals [statRSS + 1]uint64
	field := 2
	rest := data[end+1:]
	for field < statRSS {
		rest = bytes.TrimLeft(rest, " ")
		if len(rest) == 0 {
			return procSample{}, fmt.Errorf("pid %d: stat has %d fields", pid, field)
		}
		field++
		tok := rest
		if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
			tok, rest = rest[:sp], rest[sp:]
		} else {
			rest = nil
		}
		switch field {
		case statPPID, statUTime, statSTime, statCUTime, statCSTime, statStartTime, statRSS:
			v, ok := parseDecimal(tok)
			if !ok {
				return procSample{}, fmt.Errorf("pid %d: stat field %d: not a number", pid, field)
			}
			vals[field] = v
		}
	}

	return procSample{
		pid:       pid,
		ppid:      int32(vals[statPPID]),
		start:     vals[statStartTime],
		selfCPU:   time.Duration(vals[statUTime]+vals[statSTime]) * tick,
		reapedCPU: time.Duration(vals[statCUTime]+vals[statCSTime]) * tick,
		rssBytes:  vals[statRSS] * pageSize,
	}, nil
}

// parseDecimal parses a decimal number without allocating. cutime, cstime
// and rss are signed in the kernel's format but never negative in practice;
// a leading minus reads as zero.
func parseDecimal(b []byte) (uint64, bool) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '-' {
		_, ok := parseDecimal(b[1:])

		return 0, ok
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}

	return v, true
}

// pssPrefix starts the PSS line of /proc/PID/smaps_rollup.
var pssPrefix = []byte("\nPss:")

// readPSS returns the PSS of pid from /proc/PID/smaps_rollup (Linux 4.15+).
// The file is readable only for processes we may ptrace (our own), and the
// kernel walks the process's page tables to produce it; false means PSS is
// unavailable and the caller falls back to RSS.
func (sc *scanner) readPSS(pid int32) (uint64, bool) {
	data, err := sc.readFile(sc.procPath(pid, "smaps_rollup"))
	if err != nil {
		return 0, false
	}
	i := bytes.Index(data, pssPrefix)
	if i < 0 {
		// Kernel threads and zombies have an empty rollup.
		return 0, false
	}
	line := data[i+len(pssPrefix):]
	if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	kb, ok := parseDecimal(bytes.TrimSuffix(bytes.TrimSpace(line), []byte("kB")))
	if !ok {
		return 0, false
	}

	return kb * 1024, true
}
