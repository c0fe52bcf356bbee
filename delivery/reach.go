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
	planBasis string // what planAuth rests on (a basis* text)
	plannedAt time.Time
}

func newReachBook(now func() time.Time) *reachBook {
	return &reachBook{now: now, m: map[string]reachEntry{}}
}

// What a Finding rests on (mail.Finding.Basis). Fixed texts: no address,
// no host name.
const (
	basisDelivery = "last delivery"
	basisDANE     = "DANE"
	basisSTS      = "enforced MTA-STS policy"
	basisPinned   = "trusted route"
	basisNoAuth   = "no DANE, no enforced MTA-STS policy"
	basisRoute    = "route or smarthost not declared trusted"
	basisSTSMatch = "no MX host matches the MTA-STS policy"
)

// Reach answers, from what this client cached and without a lookup or a
// connection, whether domain can take mail at level (see known).
func (c *Client) Reach(domain string, level mail.TLSLevel) mail.Reach {
	f, _ := c.known(strings.ToLower(domain), level)
	return f.Reach
}

// known answers from what this client cached: first what its deliveries
// showed (the level a session reached, a required level it could not
// have), then, for verified and authenticated TLS, what the last plan for
// the domain found (DANE records, MTA-STS, trusted routes), and last a
// cached MTA-STS policy in enforce mode, which promises verified TLS to
// the hosts it lists. ok is false when nothing is known.
func (c *Client) known(domain string, level mail.TLSLevel) (f mail.Finding, ok bool) {
	if r := c.reach.get(domain, level); r != mail.ReachUnknown {
		return mail.Finding{Reach: r, Basis: basisDelivery}, true
	}
	if level < mail.TLSVerify || level > mail.TLSAuthenticated {
		return mail.Finding{}, false
	}
	if auth, basis, ok := c.reach.planned(domain); ok && (auth || level == mail.TLSAuthenticated) {
		// A plan without an authenticated hop says nothing of PKIX
		// (TLSVerify): that takes a connection.
		return mail.Finding{Reach: reachOf(auth), Basis: basis}, true
	}
	if c.sts != nil {
		if p := c.sts.Cached(domain); p != nil && p.Mode == mtasts.ModeEnforce {
			return mail.Finding{Reach: mail.ReachYes, Basis: basisSTS}, true
		}
	}
	return mail.Finding{}, false
}

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
func (b *reachBook) planned(domain string) (auth bool, basis string, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.fresh(domain)
	return e.planAuth, e.planBasis, !e.plannedAt.IsZero()
}

// planRefresh is how often an unchanged plan result is written again: the
// hot path of a busy domain costs a map read, not a write, per delivery.
const planRefresh = time.Minute

// plan records what a plan for domain found: whether any next hop that
// the plan allows can be authenticated end to end, and on what that
// rests. A plan whose lookups failed teaches nothing (see planFinding).
func (b *reachBook) plan(domain string, hops []hop) {
	auth, basis, failed := planFinding(hops)
	if failed == nil {
		b.planned1(domain, auth, basis)
	}
}

// planned1 records one plan result for domain.
func (b *reachBook) planned1(domain string, auth bool, basis string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, now := b.fresh(domain), b.now()
	if !e.plannedAt.IsZero() && e.planAuth == auth && e.planBasis == basis && now.Sub(e.plannedAt) < planRefresh {
		return
	}
	e.planAuth, e.planBasis, e.plannedAt = auth, basis, now
	b.put(domain, e)
}

// planFinding says whether any of hops can be authenticated end to end
// and on what that rests (the first such hop's way). When none can and
// a hop was forbidden because a lookup failed (a TLSA lookup for a
// DNSSEC-signed host), the answer is not known: failed is that error.
func planFinding(hops []hop) (auth bool, basis string, failed *Error) {
	basis = basisRoute
	for _, h := range hops {
		switch {
		case h.tls.err == nil && h.tls.authenticated():
			return true, authBasis(h.tls.authKind()), nil
		case h.tls.err != nil && h.tls.err.Command == CmdDNS && failed == nil:
			failed = h.tls.err
		}
		if h.mx {
			basis = basisNoAuth
		}
	}
	return false, basis, failed
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

// reachOf is ReachYes for true, ReachNo for false.
func reachOf(yes bool) mail.Reach {
	if yes {
		return mail.ReachYes
	}
	return mail.ReachNo
}

// authBasis is the Finding basis of an authentication kind (authKind).
func authBasis(kind mail.Verification) string {
	switch kind {
	case mail.VerifiedDANE:
		return basisDANE
	case mail.VerifiedMTASTS:
		return basisSTS
	}
	return basisPinned
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
