package delivery

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// errPoolClosed is returned by acquire after Close.
var errPoolClosed = errors.New("delivery: client closed")

// pool holds idle sessions per destination and limits how many connections
// are open (busy, idle and being set up) per destination (a next hop's
// host:port) and in total. Idle sessions are matched by key (destination
// plus TLS level), so a session is only reused for deliveries with the same
// requirement. When a limit is reached, an idle session that does not match
// is closed to make room; otherwise callers wait.
type pool struct {
	maxPerDest  int
	maxTotal    int // 0 = no overall limit
	idleTimeout time.Duration
	m           *metrics

	mu     sync.Mutex
	dests  map[string]*dest
	total  int
	wake   chan struct{} // closed and replaced when a slot or session frees up
	closed bool
}

// dest is the state of one destination.
type dest struct {
	open int        // connections counted against the limits
	idle []*session // oldest first
}

// poolLimits are the pool's size and expiry settings.
type poolLimits struct {
	perDest, total int
	idleTimeout    time.Duration
}

func newPool(l poolLimits, m *metrics) *pool {
	return &pool{maxPerDest: l.perDest, maxTotal: l.total, idleTimeout: l.idleTimeout, m: m,
		dests: make(map[string]*dest), wake: make(chan struct{})}
}

// acquire returns an idle session for key (if reuse is set), or nil with a
// connection slot reserved for dst (the caller dials, then calls put or
// release). It waits while a limit is reached, until ctx ends.
func (p *pool) acquire(ctx context.Context, dst, key string, reuse bool) (*session, error) {
	for {
		s, victim, wake, err := p.tryAcquire(dst, key, reuse)
		if victim != nil {
			victim.close()
		}
		if err != nil || wake == nil {
			return s, err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// tryAcquire is one locked step of acquire: an idle session, a free slot, a
// slot taken over from an idle session of another key (victim, to close),
// or the channel to wait on.
func (p *pool) tryAcquire(dst, key string, reuse bool) (s, victim *session, wake chan struct{}, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, nil, errPoolClosed
	}
	d := p.dests[dst]
	if d == nil {
		d = &dest{}
		p.dests[dst] = d
	}
	if reuse {
		if s := d.takeIdle(key, time.Now().Add(-p.idleTimeout)); s != nil {
			p.m.idle.Dec()
			p.m.busy.Inc()
			return s, nil, nil, nil
		}
	}
	destFull := d.open >= p.maxPerDest
	if !destFull && (p.maxTotal == 0 || p.total < p.maxTotal) {
		d.open++
		p.total++
		p.m.busy.Inc()
		return nil, nil, nil, nil
	}
	if victim = p.evict(d, destFull); victim != nil {
		d.open++
		p.m.idle.Dec()
		p.m.busy.Inc()
		return nil, victim, nil, nil
	}
	if d.open == 0 {
		delete(p.dests, dst)
	}
	return nil, nil, p.wake, nil
}

// evict removes the oldest idle session that can give its slot to d: one
// of d's own when d is at its limit, else any. The total is unchanged.
func (p *pool) evict(d *dest, destFull bool) *session {
	if destFull || len(d.idle) > 0 {
		if len(d.idle) == 0 {
			return nil
		}
		s := d.idle[0]
		d.idle = slices.Delete(d.idle, 0, 1)
		d.open--
		return s
	}
	var from *dest
	var name string
	for n, o := range p.dests {
		if len(o.idle) > 0 && (from == nil || o.idle[0].idleSince.Before(from.idle[0].idleSince)) {
			from, name = o, n
		}
	}
	if from == nil {
		return nil
	}
	s := from.idle[0]
	from.idle = slices.Delete(from.idle, 0, 1)
	if from.open--; from.open == 0 {
		delete(p.dests, name)
	}
	return s
}

// takeIdle removes and returns the newest idle session for key that has
// been idle since cutoff or later; older ones are left to expire.
func (d *dest) takeIdle(key string, cutoff time.Time) *session {
	for i := len(d.idle) - 1; i >= 0; i-- {
		if s := d.idle[i]; s.key == key && !s.idleSince.Before(cutoff) {
			d.idle = slices.Delete(d.idle, i, i+1)
			return s
		}
	}
	return nil
}

// put returns a healthy session to the idle list of its destination.
func (p *pool) put(s *session) {
	p.mu.Lock()
	d := p.dests[s.dst]
	if p.closed || d == nil {
		p.mu.Unlock()
		s.close()
		p.release(s.dst)
		return
	}
	s.idleSince = time.Now()
	d.idle = append(d.idle, s)
	p.m.busy.Dec()
	p.m.idle.Inc()
	p.signal()
	p.mu.Unlock()
}

// release gives back the slot of a connection that was closed or never
// opened.
func (p *pool) release(dst string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m.busy.Dec()
	d := p.dests[dst]
	if d == nil {
		return
	}
	d.open--
	p.total--
	p.signal()
	if d.open == 0 {
		delete(p.dests, dst)
	}
}

// signal wakes everyone waiting for a slot; p.mu is held.
func (p *pool) signal() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// expire closes idle sessions older than the idle timeout (all of them when
// all is set) and frees their slots.
func (p *pool) expire(all bool) {
	p.mu.Lock()
	cutoff := time.Now().Add(-p.idleTimeout)
	var old []*session
	for name, d := range p.dests {
		n := len(old)
		keep := d.idle[:0]
		for _, s := range d.idle {
			if all || s.idleSince.Before(cutoff) {
				old = append(old, s)
			} else {
				keep = append(keep, s)
			}
		}
		clear(d.idle[len(keep):])
		d.idle = keep
		d.open -= len(old) - n
		if d.open == 0 {
			delete(p.dests, name)
		}
	}
	if len(old) > 0 {
		p.total -= len(old)
		p.m.idle.Sub(float64(len(old)))
		p.signal()
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range old {
		wg.Go(s.quit)
	}
	wg.Wait()
}

// close stops the pool: idle sessions are closed now, busy ones when they
// come back.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.signal()
	p.mu.Unlock()
	p.expire(true)
}
