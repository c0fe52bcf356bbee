package delivery

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mtasts"
)

// What the client learnt of a destination is kept this long: long enough
// that the next messages to a domain whose hosts cannot do authenticated
// TLS go to their fallback at once, short enough that a domain that fixes
// its TLS is tried again within the hour.
const reachTTL = time.Hour

// reachMax bounds the domains remembered; past it the book starts afresh.
const reachMax = 10000

// reachBook remembers, per destination domain, what recent deliveries
// showed about transport security: the highest level a session reached,
// and the lowest level a delivery required and could not have. A success
// at a level does not erase a failure at a higher one (a portal notice
// over opportunistic TLS says nothing of authenticated TLS); a success at
// or above the failed level does (the destination was fixed).
type reachBook struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]reachEntry
}

type reachEntry struct {
	reached, failed     mail.TLSLevel
	reachedAt, failedAt time.Time // zero: nothing known
	// planAuth is what the last plan for the domain found, before
	// connecting: whether a next hop's identity can be authenticated end
	// to end (usable DANE records, an enforced MTA-STS policy listing it,
	// a trusted configured destination).
	planAuth  bool
	plannedAt time.Time
}

func newReachBook(now func() time.Time) *reachBook {
	return &reachBook{now: now, m: map[string]reachEntry{}}
}

// Reach implements mail.Destinations. It answers from what this client
// cached, without a lookup or a connection: first what its deliveries
// showed (the level a session reached, a required level it could not
// have), then, for authenticated TLS, what the last plan for the domain
// found (DANE records, MTA-STS, trusted routes), and last a cached
// MTA-STS policy in enforce mode, which promises verified TLS to the
// hosts it lists.
func (c *Client) Reach(domain string, level mail.TLSLevel) mail.Reach {
	domain = strings.ToLower(domain)
	if r := c.reach.get(domain, level); r != mail.ReachUnknown {
		return r
	}
	if level > mail.TLSAuthenticated {
		return mail.ReachUnknown
	}
	if auth, ok := c.reach.planned(domain); ok && level == mail.TLSAuthenticated {
		if auth {
			return mail.ReachYes
		}
		return mail.ReachNo
	}
	if c.sts != nil && level >= mail.TLSVerify {
		if p := c.sts.Cached(domain); p != nil && p.Mode == mtasts.ModeEnforce {
			return mail.ReachYes
		}
	}
	return mail.ReachUnknown
}

var _ mail.Destinations = (*Client)(nil)

func (b *reachBook) get(domain string, level mail.TLSLevel) mail.Reach {
	b.mu.Lock()
	e := b.fresh(domain)
	b.mu.Unlock()
	switch {
	case !e.failedAt.IsZero() && level >= e.failed:
		return mail.ReachNo
	case !e.reachedAt.IsZero() && level <= e.reached:
		return mail.ReachYes
	}
	return mail.ReachUnknown
}

// planned returns what the last plan for domain found, if it is fresh.
func (b *reachBook) planned(domain string) (auth, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.fresh(domain)
	return e.planAuth, !e.plannedAt.IsZero()
}

// planRefresh is how often an unchanged plan result is written again: the
// hot path of a busy domain costs a map read, not a write, per delivery.
const planRefresh = time.Minute

// plan records what a plan for domain found: whether any next hop that
// the plan allows can be authenticated end to end.
func (b *reachBook) plan(domain string, hops []hop) {
	auth := false
	for _, h := range hops {
		auth = auth || h.tls.err == nil && h.tls.authenticated()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, now := b.fresh(domain), b.now()
	if !e.plannedAt.IsZero() && e.planAuth == auth && now.Sub(e.plannedAt) < planRefresh {
		return
	}
	e.planAuth, e.plannedAt = auth, now
	b.put(domain, e)
}

// fresh is domain's entry without what is older than reachTTL; b.mu held.
func (b *reachBook) fresh(domain string) reachEntry {
	e := b.m[domain]
	now := b.now()
	if now.Sub(e.failedAt) > reachTTL {
		e.failedAt = time.Time{}
	}
	if now.Sub(e.reachedAt) > reachTTL {
		e.reachedAt = time.Time{}
	}
	if now.Sub(e.plannedAt) > reachTTL {
		e.plannedAt = time.Time{}
	}
	return e
}

// learn records what the delivery d taught about its domain: a TLS failure
// at the level it required, or the level a recipient's session reached.
func (b *reachBook) learn(d *mail.Delivery, out []mail.Outcome) {
	domain := strings.ToLower(d.Domain)
	for _, o := range out {
		switch {
		case o.Err == nil && o.TLSVersion != "":
			b.update(domain, func(e *reachEntry, now time.Time) {
				r := reached(o)
				if e.reachedAt.IsZero() || r > e.reached {
					e.reached = r
				}
				e.reachedAt = now
				if !e.failedAt.IsZero() && e.reached >= e.failed {
					e.failedAt = time.Time{}
				}
			})
			return
		case o.Err != nil && errors.Is(o.Err, mail.ErrTLSUnavailable):
			b.update(domain, func(e *reachEntry, now time.Time) {
				if e.failedAt.IsZero() || d.TLS < e.failed {
					e.failed = d.TLS
				}
				e.failedAt = now
				if !e.reachedAt.IsZero() && e.reached >= e.failed {
					e.reachedAt = time.Time{}
				}
			})
			return
		}
	}
}

// update changes domain's fresh entry with fn, bounding the book.
func (b *reachBook) update(domain string, fn func(e *reachEntry, now time.Time)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.fresh(domain)
	fn(&e, b.now())
	b.put(domain, e)
}

// put stores domain's entry, starting the book afresh when it is full;
// b.mu held.
func (b *reachBook) put(domain string, e reachEntry) {
	if _, known := b.m[domain]; !known && len(b.m) >= reachMax {
		clear(b.m)
	}
	b.m[domain] = e
}

// reached is the transport-security level a successful session had.
func reached(o mail.Outcome) mail.TLSLevel {
	switch {
	case o.Verified && mail.Verification(o.Verification).Authenticated():
		return mail.TLSAuthenticated
	case o.Verified:
		return mail.TLSVerify
	}
	return mail.TLSEncrypt
}
