package smtpd

import (
	"sync"
	"time"
)

// limiter is a token bucket per key (client name, IP address). Idle keys
// are forgotten after ttl, so no bad state needs a restart to clear.
type limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	ttl     time.Duration
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perMinute int, burst int) *limiter {
	return &limiter{rate: float64(perMinute) / 60, burst: float64(burst),
		ttl: 10 * time.Minute, buckets: map[string]*bucket{}}
}

// allow takes one token for key; a nil limiter or zero rate allows all.
func (l *limiter) allow(key string, now time.Time) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gc(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// peek reports whether a token is available without taking one.
func (l *limiter) peek(key string, now time.Time) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return true
	}
	return min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate) >= 1
}

func (l *limiter) gc(now time.Time) {
	if now.Sub(l.sweep) < time.Minute {
		return
	}
	l.sweep = now
	for k, b := range l.buckets {
		if now.Sub(b.last) > l.ttl {
			delete(l.buckets, k)
		}
	}
}

// size is the number of keys tracked, for the gauge.
func (l *limiter) size() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
