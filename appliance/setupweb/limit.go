package setupweb

import (
	"crypto/rand"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiters bounds the per-client table; above it, clients whose bucket has
// refilled are forgotten.
const maxLimiters = 1024

// attemptLimiter limits wrong attempts (passwords, setup codes) per client
// IP with a token bucket each. Only failures spend tokens, so a person who
// types the right password is never slowed down.
type attemptLimiter struct {
	limit rate.Limit
	burst int

	// mu guards m.
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// newAttemptLimiter returns a limiter allowing burst failures in a row and
// limit more per second after that.
func newAttemptLimiter(limit rate.Limit, burst int) *attemptLimiter {
	return &attemptLimiter{limit: limit, burst: burst, m: make(map[string]*rate.Limiter)}
}

// bucket returns the client's bucket, creating it.
func (l *attemptLimiter) bucket(ip string, now time.Time) *rate.Limiter {
	if lim, ok := l.m[ip]; ok {
		return lim
	}
	if len(l.m) >= maxLimiters {
		for k, lim := range l.m {
			if lim.TokensAt(now) >= float64(l.burst) {
				delete(l.m, k)
			}
		}
	}
	lim := rate.NewLimiter(l.limit, l.burst)
	l.m[ip] = lim
	return lim
}

// wait returns 0 when the client may make an attempt now, else how long it
// must wait for the next one.
func (l *attemptLimiter) wait(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	tokens := l.bucket(ip, now).TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	secs := (1 - tokens) / float64(l.limit)
	return time.Duration(math.Ceil(secs)) * time.Second
}

// fail spends one attempt of the client.
func (l *attemptLimiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bucket(ip, now).AllowN(now, 1)
}

// setupCodeAlphabet has no characters that are easy to confuse (0/O, 1/I/L)
// or to mistype on a phone keyboard.
const setupCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// SetupCodeLen is the length of a setup code.
const SetupCodeLen = 8

// NewSetupCode returns a fresh one-time setup code of [SetupCodeLen]
// characters from an alphabet without look-alikes (about 40 bits). The
// caller prints it in the appliance log and passes it in [Config.SetupCode];
// the page accepts it in any case, with or without spaces or a dash.
func NewSetupCode() (string, error) {
	out := make([]byte, 0, SetupCodeLen)
	var buf [16]byte
	// Rejection sampling keeps every character equally likely.
	limit := byte(256 - 256%len(setupCodeAlphabet))
	for len(out) < SetupCodeLen {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, b := range buf {
			if b < limit && len(out) < SetupCodeLen {
				out = append(out, setupCodeAlphabet[int(b)%len(setupCodeAlphabet)])
			}
		}
	}
	return string(out), nil
}

// normaliseCode upper-cases a typed code and drops spaces and dashes.
func normaliseCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, code)
}
