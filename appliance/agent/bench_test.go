//go:build unix

package agent

import (
	"context"
	"log/slog"
	"syscall"
	"testing"
	"time"
)

// BenchmarkHeartbeat measures building one heartbeat: a sysinfo sample of
// the process tree and the machine, the outbox depth and the payload. It
// reports the process's CPU time (user+system) per heartbeat, the figure
// that matters on a small board, besides wall time.
func BenchmarkHeartbeat(b *testing.B) {
	app := appConfig(b, "", "", "w-bench")
	a, err := New(&Config{App: app, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err = a.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Shutdown(ctx) })
	// The first sample primes the CPU figures and waits; keep it out.
	if _, err = a.heartbeat(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	before := cpuTime(b)
	n := 0
	for b.Loop() {
		if _, err = a.heartbeat(ctx); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/float64(n), "cpu-µs/op")
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
