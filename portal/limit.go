package portal

import (
	"net/netip"
	"sync"
	"time"
)

// maxLimiterKeys bounds a limiter's memory; when full, the oldest windows
// are swept first and, if that is not enough, new addresses share one key.
const maxLimiterKeys = 100000

// limiter counts events per client network in fixed windows: failed codes
// and code requests per address, on top of the per-message lockout in the
// store. Keys are IPv4 addresses or IPv6 /64 networks.
type limiter struct {
	mu     sync.Mutex
	m      map[string]*window
	max    int
	period time.Duration
	now    func() time.Time
}

type window struct {
	start time.Time
	count int
}

func newLimiter(max int, period time.Duration, now func() time.Time) *limiter {
	return &limiter{m: map[string]*window{}, max: max, period: period, now: now}
}

// clientKey groups an address with its neighbours that one client controls.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a.Is4() || a.Is4In6() {
		return a.Unmap().String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// allow reports whether key is still under its limit in this window.
func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[key]
	return w == nil || l.now().Sub(w.start) >= l.period || w.count < l.max
}

// add counts one event for key.
func (l *limiter) add(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.m[key]
	if w == nil || now.Sub(w.start) >= l.period {
		if len(l.m) >= maxLimiterKeys {
			l.sweepLocked()
			if len(l.m) >= maxLimiterKeys {
				key = "overflow"
			}
		}
		w = &window{start: now}
		if old := l.m[key]; old != nil && now.Sub(old.start) < l.period {
			w = old
		}
		l.m[key] = w
	}
	w.count++
}

func (l *limiter) sweepLocked() {
	now := l.now()
	for k, w := range l.m {
		if now.Sub(w.start) >= l.period {
			delete(l.m, k)
		}
	}
}

// size sweeps expired windows and returns how many remain (a gauge).
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked()
	return len(l.m)
}
