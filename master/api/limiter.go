package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pruneEvery is how often, at most, the limiter forgets idle visitors. It
// prunes on use rather than from a goroutine, so the API needs no lifecycle.
const pruneEvery = time.Minute

// visitor is the login bucket of one client address.
type visitor struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

// limiter rate-limits login attempts per client address. It is safe for
// concurrent use.
type limiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time
	// idle is how long a bucket takes to refill completely; an address
	// unseen for that long is indistinguishable from a new one and is
	// forgotten.
	idle time.Duration

	mu        sync.Mutex
	visitors  map[string]*visitor
	lastPrune time.Time
}

// newLimiter returns a limiter of r attempts per second with burst b; nil
// now means time.Now.
func newLimiter(r rate.Limit, b int, now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	idle := time.Duration(float64(b) / float64(r) * float64(time.Second))
	return &limiter{rate: r, burst: b, now: now, idle: idle, visitors: map[string]*visitor{}}
}

// allow takes one attempt from addr's bucket. When the bucket is empty it
// returns false and how long until the next attempt is allowed.
func (l *limiter) allow(addr string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	v := l.visitors[addr]
	if v == nil {
		v = &visitor{lim: rate.NewLimiter(l.rate, l.burst)}
		l.visitors[addr] = v
	}
	v.lastSeen = now
	res := v.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, l.idle
	}
	if d := res.DelayFrom(now); d > 0 {
		// Not allowed now: give the token back so waiting is not punished.
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// prune forgets idle visitors; l.mu must be held.
func (l *limiter) prune(now time.Time) {
	if now.Sub(l.lastPrune) < pruneEvery {
		return
	}
	l.lastPrune = now
	for addr, v := range l.visitors {
		if now.Sub(v.lastSeen) > l.idle {
			delete(l.visitors, addr)
		}
	}
}

// size returns the number of remembered addresses.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.visitors)
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
