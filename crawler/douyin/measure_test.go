package douyin

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tidewatch/tidewatch/crawler/browser"
	"github.com/tidewatch/tidewatch/crawler/fakedouyin"
)

// selfPSS reads this process's PSS in bytes (Linux), 0 when unknown.
func selfPSS() int64 { return pssOf(os.Getpid()) }

// selfCPU is this process's user plus system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMeasure measures memory, CPU per poll cycle and detection latency
// with 1, 5 and 10 accounts. It takes minutes, so it runs only with
// TIDEWATCH_CRAWLBENCH=1; TIDEWATCH_CRAWLBENCH_INTERVAL sets the poll
// interval (default 5s), TIDEWATCH_CRAWLBENCH_WINDOW the measuring window
// per size (default 40s) and TIDEWATCH_CRAWLBENCH_SIZES the account counts
// (default "1,5,10").
func TestMeasure(t *testing.T) {
	if os.Getenv("TIDEWATCH_CRAWLBENCH") == "" {
		t.Skip("set TIDEWATCH_CRAWLBENCH=1 to measure")
	}
	interval := envDuration("TIDEWATCH_CRAWLBENCH_INTERVAL", 5*time.Second)
	window := envDuration("TIDEWATCH_CRAWLBENCH_WINDOW", 40*time.Second)
	sizes := []int{1, 5, 10}
	if v := os.Getenv("TIDEWATCH_CRAWLBENCH_SIZES"); v != "" {
		sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			require.NoError(t, err)
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		t.Run(fmt.Sprintf("accounts=%d", n), func(t *testing.T) { measure(t, n, interval, window) })
	}
}

// envDuration reads a duration from the environment.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// measure runs n accounts for window and logs the figures.
func measure(t *testing.T, n int, interval, window time.Duration) {
	fake, _ := startFake(t)
	cfg := testConfig(fake, t.TempDir())
	cfg.DefaultInterval = interval
	// TIDEWATCH_CRAWLBENCH_EXEC picks another browser binary.
	cfg.Browser.ExecPath = os.Getenv("TIDEWATCH_CRAWLBENCH_EXEC")
	// TIDEWATCH_CRAWLBENCH_DISABLE_FEATURES adds "A,B" to the Chromium
	// features switched off by default.
	if v := os.Getenv("TIDEWATCH_CRAWLBENCH_DISABLE_FEATURES"); v != "" {
		cfg.Browser.DisableFeatures = append(strings.Split(browser.DefaultDisableFeatures, ","), strings.Split(v, ",")...)
	}
	// TIDEWATCH_CRAWLBENCH_FLAGS adds Chromium switches, separated by
	// semicolons because values may hold commas: "name=value;name";
	// "name=false" removes a default switch.
	if v := os.Getenv("TIDEWATCH_CRAWLBENCH_FLAGS"); v != "" {
		cfg.Browser.ExtraFlags = map[string]any{}
		for f := range strings.SplitSeq(v, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(f), "=")
			if !ok {
				cfg.Browser.ExtraFlags[name] = true
				continue
			}
			if value == "false" {
				// Removes a default switch, to measure without it.
				cfg.Browser.ExtraFlags[name] = false
				continue
			}
			cfg.Browser.ExtraFlags[name] = value
		}
	}
	f := newFactory(t, cfg)
	type acct struct {
		info fakedouyin.AccountInfo
		sink *recSink
	}
	var accts []acct
	for range n {
		info, acc := newAccount(t, fake)
		acc.Interval = interval
		s := &recSink{}
		startMonitor(t, f, acc, s)
		accts = append(accts, acct{info, s})
	}
	for _, a := range accts {
		waitPolls(t, a.sink, 2)
	}
	polls := func() int {
		total := 0
		for _, a := range accts {
			all, _ := a.sink.pollCount()
			total += all
		}
		return total
	}

	startPolls, startBrowserCPU, startSelfCPU := polls(), f.Browser().Usage().CPU, selfCPU()
	type added struct {
		id   string
		at   time.Time
		sink *recSink
	}
	var adds []added
	deadline := time.Now().Add(window)
	var peakPSS, sumPSS, samples int64
	for time.Now().Before(deadline) {
		a := accts[rand.IntN(len(accts))]
		if rand.IntN(2) == 0 {
			c, err := fake.AddComment(a.info.UID, fakedouyin.CommentSpec{})
			require.NoError(t, err)
			adds = append(adds, added{"dy-cmt-" + c.CID, time.Now(), a.sink})
		} else {
			m, err := fake.AddDM(a.info.UID, fakedouyin.DMSpec{})
			require.NoError(t, err)
			adds = append(adds, added{"dy-dm-" + m.ServerID, time.Now(), a.sink})
		}
		pss := f.Browser().Usage().PSSBytes
		peakPSS = max(peakPSS, pss)
		sumPSS += pss
		samples++
		time.Sleep(time.Duration(500+rand.IntN(1500)) * time.Millisecond)
	}
	cycles := polls() - startPolls
	browserCPU := f.Browser().Usage().CPU - startBrowserCPU
	goCPU := selfCPU() - startSelfCPU
	usage := f.Browser().Usage()
	goPSS := selfPSS()

	// Latency: wait for the last additions to arrive.
	var comments, dms []time.Duration
	eventually(t, func() bool {
		for _, a := range adds {
			got, _ := a.sink.detections()
			if _, ok := got[a.id]; !ok {
				return false
			}
		}
		return true
	}, "every addition detected")
	for _, a := range adds {
		a.sink.mu.Lock()
		for i, d := range a.sink.dets {
			if d.Data.ID == a.id {
				lat := a.sink.detAt[i].Sub(a.at)
				if d.MessageType == "comment" {
					comments = append(comments, lat)
				} else {
					dms = append(dms, lat)
				}
			}
		}
		a.sink.mu.Unlock()
	}
	for _, a := range accts {
		_, total := a.sink.detections()
		got, _ := a.sink.detections()
		require.Equal(t, len(got), total, "no duplicates")
	}
	t.Logf("accounts=%d interval=%s window=%s", n, interval, window)
	meanPSS := sumPSS / max(samples, 1)
	t.Logf("chromium tree: PSS %.0f MB now, %.0f MB mean, %.0f MB peak, %d processes; go test process PSS %.0f MB; mean total %.0f MB",
		mb(usage.PSSBytes), mb(meanPSS), mb(peakPSS), usage.Processes, mb(goPSS), mb(meanPSS+goPSS))
	if cycles > 0 {
		t.Logf("cycles=%d CPU per cycle: chromium %s, go %s, total %s",
			cycles, browserCPU/time.Duration(cycles), goCPU/time.Duration(cycles), (browserCPU+goCPU)/time.Duration(cycles))
	}
	kinds, unique := breakdown(f.Browser().ProfileDir())
	t.Logf("chromium processes (PSS): %s; distinct pages of the tree %.0f MB, of the go test process %.0f MB",
		kinds, mb(unique), mb(uniqueBytes([]int{os.Getpid()})))
	t.Logf("comment latency (n=%d): %s", len(comments), dist(comments))
	t.Logf("DM latency (n=%d): %s", len(dms), dist(dms))
}

// breakdown sums the PSS of the Chromium tree that uses profile by
// process kind (browser, gpu-process, network, renderer, ...), to show
// where a switch saves memory, and counts the tree's distinct physical
// pages (see uniqueBytes).
func breakdown(profile string) (kinds string, unique int64) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return "unknown", 0
	}
	type proc struct {
		ppid    int
		cmdline string
	}
	procs := map[int]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmd, err1 := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		stat, err2 := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err1 != nil || err2 != nil {
			continue
		}
		ppid := 0
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 1 {
				ppid, _ = strconv.Atoi(f[1])
			}
		}
		procs[pid] = proc{ppid, strings.ReplaceAll(string(cmd), "\x00", " ")}
	}
	in := func(pid int) bool {
		for depth := 0; pid > 1 && depth < 10; depth++ {
			p, ok := procs[pid]
			if !ok {
				return false
			}
			if strings.Contains(p.cmdline, profile) {
				return true
			}
			pid = p.ppid
		}
		return false
	}
	type sum struct {
		n   int
		pss int64
	}
	byKind := map[string]*sum{}
	var tree []int
	for pid, p := range procs {
		if !in(pid) {
			continue
		}
		tree = append(tree, pid)
		kind := "browser"
		for f := range strings.FieldsSeq(p.cmdline) {
			if v, ok := strings.CutPrefix(f, "--type="); ok {
				kind = v
			}
			if v, ok := strings.CutPrefix(f, "--utility-sub-type="); ok {
				kind = v
			}
		}
		if first, _, _ := strings.Cut(p.cmdline, " "); strings.Contains(first, "crashpad") {
			kind = "crashpad"
		}
		s := byKind[kind]
		if s == nil {
			s = &sum{}
			byKind[kind] = s
		}
		s.n++
		s.pss += pssOf(pid)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		parts = append(parts, fmt.Sprintf("%s x%d %.0f MB", k, byKind[k].n, mb(byKind[k].pss)))
	}
	return strings.Join(parts, ", "), uniqueBytes(tree)
}

// uniqueBytes counts the distinct physical pages the processes map, each
// once. Unlike summed PSS it does not shrink when another Chromium on the
// same machine shares the binary's pages, so runs on a busy machine stay
// comparable; it approximates the tree's PSS on an appliance where it runs
// alone. It needs the rights to read page frame numbers (root); 0 without.
func uniqueBytes(pids []int) int64 {
	const pageSize = 4096
	seen := map[uint64]struct{}{}
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid)
		smaps, err := os.ReadFile(dir + "/smaps")
		if err != nil {
			continue
		}
		pm, err := os.Open(dir + "/pagemap")
		if err != nil {
			continue
		}
		var start, end uint64
		buf := make([]byte, 8*512)
		for line := range strings.SplitSeq(string(smaps), "\n") {
			if r, _, ok := strings.Cut(line, " "); ok && strings.Contains(r, "-") && !strings.HasSuffix(r, ":") {
				a, b, _ := strings.Cut(r, "-")
				start, _ = strconv.ParseUint(a, 16, 64)
				end, _ = strconv.ParseUint(b, 16, 64)
				continue
			}
			rest, ok := strings.CutPrefix(line, "Rss:")
			if !ok || strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")) == "0" {
				continue
			}
			for at := start; at < end; {
				n := min((end-at)/pageSize, uint64(len(buf)/8))
				got, err := pm.ReadAt(buf[:n*8], int64(at/pageSize*8))
				for i := 0; i+8 <= got; i += 8 {
					e := binary.LittleEndian.Uint64(buf[i:])
					if e&(1<<63) != 0 && e&(1<<55-1) != 0 {
						seen[e&(1<<55-1)] = struct{}{}
					}
				}
				if err != nil {
					break
				}
				at += n * pageSize
			}
		}
		pm.Close()
	}
	return int64(len(seen)) * pageSize
}

// pssOf reads the PSS of pid in bytes, 0 when unknown.
func pssOf(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// mb converts bytes to megabytes.
func mb(b int64) float64 { return float64(b) / (1 << 20) }

// dist formats min, p50, p90 and max of ds.
func dist(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	slices.Sort(ds)
	q := func(p float64) time.Duration {
		return ds[min(int(p*float64(len(ds))), len(ds)-1)].Round(10 * time.Millisecond)
	}
	return fmt.Sprintf("min %s p50 %s p90 %s max %s", q(0), q(0.5), q(0.9), ds[len(ds)-1].Round(10*time.Millisecond))
}
