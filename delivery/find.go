package delivery

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/sealgate/sealgate/mail"
)

var _ mail.Destinations = (*Client)(nil)

// Find implements mail.Destinations. It answers from what the client
// cached (see known); for a domain it knows nothing of, it plans a
// delivery at level without connecting: the route or MX hosts, their
// TLSA records under DNSSEC where DANE applies, the MTA-STS policy
// through the cache, bounded by Config.FindTimeout. The answer is
// remembered as a delivery's plan is (an hour), so the next message and
// the delivery that follows need no lookup of their own; a failed or
// unfinished lookup is not remembered and says nothing is verified.
// Calls for the same domain and level at the same time share one lookup.
//
// Only verified and authenticated TLS are found out: the levels below
// them are the destination's own to offer at connection time.
func (c *Client) Find(ctx context.Context, domain string, level mail.TLSLevel) mail.Finding {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if f, ok := c.known(domain, level); ok || level < mail.TLSVerify || level > mail.TLSAuthenticated || domain == "" {
		return f
	}
	return c.finds.do(ctx, findKey{domain, level}, func() mail.Finding {
		f := c.lookup(domain, level)
		result := f.Reach.String()
		if f.Err != nil {
			result = lookupFailed
		}
		c.metrics.lookups.WithLabelValues(result).Inc()
		return f
	})
}

// lookup plans a delivery to domain at level, without reporting TLS
// results and without connecting, and says what the plan found.
func (c *Client) lookup(domain string, level mail.TLSLevel) mail.Finding {
	// Not the caller's context: a shared lookup outlives a caller that
	// gives up; the timeout bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.FindTimeout)
	defer cancel()
	hops, err := c.plan(ctx, &mail.Delivery{Domain: domain, TLS: level}, false)
	switch {
	case err != nil && errors.Is(err, mail.ErrTLSUnavailable):
		// An enforced MTA-STS policy that lists none of the MX hosts.
		c.reach.planned1(domain, false, basisSTSMatch)
		return mail.Finding{Reach: mail.ReachNo, Basis: basisSTSMatch, LookedUp: true}
	case err != nil:
		return failedFinding(err)
	case ctx.Err() != nil:
		return failedFinding(localError(false, "4.4.3", CmdDNS, "", "looking up the destination's transport security timed out", ctx.Err()))
	}
	auth, basis, failed := planFinding(hops)
	switch {
	case failed != nil:
		return failedFinding(failed)
	case auth:
		return mail.Finding{Reach: mail.ReachYes, Basis: basis, LookedUp: true}
	case level == mail.TLSAuthenticated:
		return mail.Finding{Reach: mail.ReachNo, Basis: basis, LookedUp: true}
	}
	// No authenticated hop: whether a PKIX certificate verifies is for
	// a connection to show.
	return mail.Finding{LookedUp: true}
}

// failedFinding is the Finding of a lookup that failed with err.
func failedFinding(err *Error) mail.Finding {
	return mail.Finding{Err: err, Permanent: err.Permanent, Enhanced: err.Enhanced, LookedUp: true}
}

// findKey is one question Find answers.
type findKey struct {
	domain string
	level  mail.TLSLevel
}

// finds runs one lookup per question at a time; callers asking the same
// question meanwhile wait for its answer, or for their context.
type finds struct {
	mu      sync.Mutex
	running map[findKey]*findCall
}

type findCall struct {
	done chan struct{}
	f    mail.Finding
}

// do returns fn's answer for k, running fn unless a call for k is running.
func (s *finds) do(ctx context.Context, k findKey, fn func() mail.Finding) mail.Finding {
	s.mu.Lock()
	call, ok := s.running[k]
	if !ok {
		if s.running == nil {
			s.running = map[findKey]*findCall{}
		}
		call = &findCall{done: make(chan struct{})}
		s.running[k] = call
		go func() {
			call.f = fn()
			s.mu.Lock()
			delete(s.running, k)
			s.mu.Unlock()
			close(call.done)
		}()
	}
	s.mu.Unlock()
	select {
	case <-call.done:
		return call.f
	case <-ctx.Done():
		return failedFinding(localError(false, "4.4.7", CmdDNS, "", "looking up the destination's transport security was cancelled", ctx.Err()))
	}
}
