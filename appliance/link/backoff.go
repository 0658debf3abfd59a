package link

import (
	"math/rand/v2"
	"time"
)

// backoff computes exponential reconnect delays with jitter: the n-th delay
// is min·2ⁿ capped at max, then spread over [½·d, d] so a fleet that lost its
// master at once does not come back in lock-step.
type backoff struct {
	min, max time.Duration
	n        int
}

// newBackoff returns a back-off from lo to hi.
func newBackoff(lo, hi time.Duration) *backoff {
	return &backoff{min: lo, max: hi}
}

// next returns the next delay and advances.
func (b *backoff) next() time.Duration {
	d := b.min
	for i := 0; i < b.n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.n++
	half := d / 2
	return half + rand.N(half+1)
}

// reset starts over at the smallest delay.
func (b *backoff) reset() { b.n = 0 }
