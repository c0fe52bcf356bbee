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
// each destination (a next hop's host:port) has open at once, idle ones
// included. Idle sessions are matched by key (destination plus TLS level),
// so a session is only reused for deliveries with the same requirement.
type pool struct {
	max         int
	idleTimeout time.Duration
	m           *metrics

	mu     sync.Mutex
	dests  map[string]*dest
	closed bool
}

// dest is the state of one destination.
type dest struct {
	open int        // connections counted against max (idle, busy, dialling)
	idle []*session // oldest first
	wake chan struct{}
}

func newPool(max int, idleTimeout time.Duration, m *metrics) *pool {
	return &pool{max: max, idleTimeout: idleTimeout, m: m, dests: make(map[string]*dest)}
}

// acquire returns an idle session for key (if reuse is set), or nil with a
// connection slot reserved for dst (the caller dials, then calls put or
// release). It waits while dst is at its limit, until ctx ends.
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
// slot taken from an idle session of another key (victim, to close), or the
// channel to wait on.
func (p *pool) tryAcquire(dst, key string, reuse bool) (s, victim *session, wake chan struct{}, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, nil, errPoolClosed
	}
	d := p.dests[dst]
	if d == nil {
		d = &dest{wake: make(chan struct{})}
		p.dests[dst] = d
	}
	if !reuse {
		key = "" // matches no idle session
	}
	if s := d.takeIdle(key, time.Now().Add(-p.idleTimeout)); s != nil {
		p.m.idle.Dec()
		p.m.busy.Inc()
		return s, nil, nil, nil
	}
	if d.open < p.max {
		d.open++
		p.m.busy.Inc()
		return nil, nil, nil, nil
	}
	if len(d.idle) > 0 {
		victim = d.idle[0]
		d.idle = slices.Delete(d.idle, 0, 1)
		p.m.idle.Dec()
		p.m.busy.Inc()
		return nil, victim, nil, nil
	}
	return nil, nil, d.wake, nil
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
	d.signal()
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
	d.signal()
	if d.open == 0 {
		delete(p.dests, dst)
	}
}

// signal wakes everyone waiting on d.
func (d *dest) signal() {
	close(d.wake)
	d.wake = make(chan struct{})
}

// expire closes idle sessions older than the idle timeout (all of them when
// all is set) and frees their slots.
func (p *pool) expire(all bool) {
	var old []*session
	p.mu.Lock()
	cutoff := time.Now().Add(-p.idleTimeout)
	for name, d := range p.dests {
		n := len(old)
		keep := d.idle[:0]
		for _, s := range d.idle {
			if all || s.idleSince.Before(cutoff) {
				old = append(old, s)
				continue
			}
			keep = append(keep, s)
		}
		clear(d.idle[len(keep):])
		d.idle = keep
		if removed := len(old) - n; removed > 0 {
			d.open -= removed
			p.m.idle.Sub(float64(removed))
			d.signal()
		}
		if d.open == 0 {
			delete(p.dests, name)
		}
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
	p.mu.Unlock()
	p.expire(true)
}
