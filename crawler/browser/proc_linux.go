//go:build linux

package browser

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat; it
// is 100 on every Linux architecture we build for.
const clockTicks = 100

// profileProcesses returns the ids of the processes whose command line
// names dir (Chromium passes --user-data-dir to most children, and its
// crash handler keeps its database inside the profile) and of all their
// descendants (the children of the headless shell do not carry the flag).
func profileProcesses(dir string) []int {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	want := []byte("--user-data-dir=" + dir)
	inside := []byte("=" + dir + string(os.PathSeparator))
	var pids []int
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if ppid := parentOf(pid); ppid > 0 {
			children[ppid] = append(children[ppid], pid)
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		// Zygote children rewrite their command line as one string with
		// spaces, so search the whole of it.
		if hasArg(cmdline, want) || bytes.Contains(cmdline, inside) {
			pids = append(pids, pid)
		}
	}
	in := map[int]bool{}
	for _, p := range pids {
		in[p] = true
	}
	for i := 0; i < len(pids); i++ {
		for _, c := range children[pids[i]] {
			if !in[c] {
				in[c] = true
				pids = append(pids, c)
			}
		}
	}
	return pids
}

// parentOf returns the parent process id of pid, 0 when unknown.
func parentOf(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// hasArg reports whether cmdline holds arg ended by a NUL, a space or the
// end.
func hasArg(cmdline, arg []byte) bool {
	for rest := cmdline; ; {
		i := bytes.Index(rest, arg)
		if i < 0 {
			return false
		}
		end := i + len(arg)
		if end == len(rest) || rest[end] == 0 || rest[end] == ' ' {
			return true
		}
		rest = rest[end:]
	}
}

// processUsage reads the PSS and the CPU time of one process; ok is false
// when the process is gone or unreadable.
func processUsage(pid int) (pssBytes int64, cpu time.Duration, ok bool) {
	p := "/proc/" + strconv.Itoa(pid)
	f, err := os.Open(p + "/smaps_rollup")
	if err != nil {
		return 0, 0, false
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, found := strings.CutPrefix(line, "Pss:"); found {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			pssBytes = kb * 1024
			break
		}
	}
	f.Close()
	stat, err := os.ReadFile(p + "/stat")
	if err != nil {
		return pssBytes, 0, true
	}
	// The command name in parentheses may hold spaces: split after it.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
		fields := strings.Fields(string(stat[i+1:]))
		// fields[0] is the state (field 3); utime and stime are 14 and 15.
		if len(fields) > 12 {
			ut, _ := strconv.ParseInt(fields[11], 10, 64)
			st, _ := strconv.ParseInt(fields[12], 10, 64)
			cpu = time.Duration(ut+st) * time.Second / clockTicks
		}
	}
	return pssBytes, cpu, true
}

// killProfileProcesses kills every process that uses dir as its profile,
// until none is found a few passes in a row (a child can fork while its
// parent dies), and returns how many it killed.
func killProfileProcesses(dir string) int {
	const (
		quietPasses = 3
		pause       = 20 * time.Millisecond
		limit       = 3 * time.Second
	)
	total := 0
	deadline := time.Now().Add(limit)
	for quiet := 0; quiet < quietPasses && time.Now().Before(deadline); time.Sleep(pause) {
		pids := profileProcesses(dir)
		if len(pids) == 0 {
			quiet++
			continue
		}
		quiet = 0
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				total++
			}
		}
	}
	return total
}
