package douyin

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tidewatch/tidewatch/crawler/fakedouyin"
)

// selfPSS reads this process's PSS in bytes (Linux), 0 when unknown.
func selfPSS() int64 {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
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
	// TIDEWATCH_CRAWLBENCH_FLAGS adds Chromium switches: "name=value,name".
	if v := os.Getenv("TIDEWATCH_CRAWLBENCH_FLAGS"); v != "" {
		cfg.Browser.ExtraFlags = map[string]any{}
		for f := range strings.SplitSeq(v, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(f), "=")
			if !ok {
				cfg.Browser.ExtraFlags[name] = true
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
	var peakPSS int64
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
		peakPSS = max(peakPSS, f.Browser().Usage().PSSBytes)
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
	t.Logf("chromium tree: PSS %.0f MB now, %.0f MB peak, %d processes; go test process PSS %.0f MB; total %.0f MB",
		mb(usage.PSSBytes), mb(peakPSS), usage.Processes, mb(goPSS), mb(usage.PSSBytes+goPSS))
	if cycles > 0 {
		t.Logf("cycles=%d CPU per cycle: chromium %s, go %s, total %s",
			cycles, browserCPU/time.Duration(cycles), goCPU/time.Duration(cycles), (browserCPU+goCPU)/time.Duration(cycles))
	}
	t.Logf("comment latency (n=%d): %s", len(comments), dist(comments))
	t.Logf("DM latency (n=%d): %s", len(dms), dist(dms))
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
