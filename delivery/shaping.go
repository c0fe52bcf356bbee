package delivery

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/publicsuffix"
)

// Shaping paces deliveries per destination provider. Destinations are
// grouped by the registrable domain of their next hop's host name (the
// "MX rollup": every domain whose MX hosts are *.google.com shares the
// budget of "google.com"). Zero values take the defaults noted.
type Shaping struct {
	// Limits are the default budget of every provider.
	Limits ProviderLimits
	// Providers overrides Limits per provider (registrable domain, lower
	// case, e.g. "outlook.com").
	Providers map[string]ProviderLimits
	// Hold is how long a provider gets no new delivery after it throttled
	// (default 1m).
	Hold time.Duration
	// RecoverStep is the interval of each recovery step after the hold:
	// the rate grows by a quarter of what it was before the throttle until
	// it is back (default 1m).
	RecoverStep time.Duration
	// MaxWait is the longest a delivery waits for its provider's budget;
	// past it, the delivery is deferred (a temporary failure) so the queue
	// retries it later and its worker moves on (default 30s).
	MaxWait time.Duration
	// Marketing reports whether a client (mail.Delivery.Client) sends
	// campaigns; its mail waits while transactional mail for the same
	// provider waits. nil: all mail is transactional.
	Marketing func(client string) bool
}

// ProviderLimits are one provider's budget; 0 means the default for
// Connections and MessagesPerConnection, and no limit for PerMinute.
type ProviderLimits struct {
	// Connections caps concurrent deliveries (connections in use) to the
	// provider (default 10).
	Connections int
	// MessagesPerConnection is how many messages one connection carries
	// before it is closed (default 100).
	MessagesPerConnection int
	// PerMinute caps new deliveries per minute; 0 = unlimited until the
	// provider throttles.
	PerMinute int
}

// errThrottled is the cause of a delivery deferred by shaping.
var errThrottled = errors.New("destination provider is throttling or its budget is spent")

// maxThrottleLabels bounds the provider label values of the throttle
// gauge; further throttled providers are counted under "other".
const maxThrottleLabels = 100

// shaper holds the budgets of the providers. It exists only when shaping
// is configured, so unshaped delivery takes no lock of its own.
type shaper struct {
	cfg Shaping
	now func() time.Time
	// quickClose: a pooled connection found closed after idling less
	// than this was cut by a per-connection limit; after longer, it is
	// taken for the server's idle timeout and teaches nothing.
	quickClose time.Duration
	gauge      *prometheus.GaugeVec

	mu       sync.Mutex
	provs    map[string]*provider
	labelled int
	waiters  int           // deliveries waiting on wake
	wake     chan struct{} // closed and replaced when a budget frees up
}

// provider is one provider's budget and throttle state.
type provider struct {
	name    string
	label   string // gauge label while throttled, "" otherwise
	lim     ProviderLimits
	perConn int // messages per connection, lowered when the provider closes early

	rate      float64 // current messages per minute; 0 = unlimited
	ceiling   float64 // the rate to recover to
	throttled bool
	holdUntil time.Time
	nextStep  time.Time
	next      time.Time // earliest start of the next delivery when paced

	active int // deliveries in progress
	urgent int // transactional deliveries waiting

	winStart  time.Time // sliding one-minute count of starts
	cur, prev int
}

func newShaper(cfg Shaping) *shaper {
	setDefaultInt(&cfg.Limits.Connections, 10)
	setDefaultInt(&cfg.Limits.MessagesPerConnection, 100)
	setDefaultDur(&cfg.Hold, time.Minute)
	setDefaultDur(&cfg.RecoverStep, time.Minute)
	setDefaultDur(&cfg.MaxWait, 30*time.Second)
	return &shaper{cfg: cfg, now: time.Now, quickClose: 5 * time.Second, provs: make(map[string]*provider), wake: make(chan struct{}),
		gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sealgate_delivery_provider_throttled",
			Help: "1 while sealgate holds back or paces a destination provider (registrable domain of its MX hosts) that throttled.",
		}, []string{"provider"})}
}

// providerOf is the provider of a next hop: the registrable domain of its
// host name ("mx1.provider.example" → "provider.example"); an IP address
// or a name without one stands for itself.
func providerOf(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(host) != nil {
		return host
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// get returns the provider named name; s.mu is held.
func (s *shaper) get(name string) *provider {
	p := s.provs[name]
	if p == nil {
		lim := s.cfg.Limits
		if o, ok := s.cfg.Providers[name]; ok {
			setDefaultInt(&o.Connections, lim.Connections)
			setDefaultInt(&o.MessagesPerConnection, lim.MessagesPerConnection)
			lim = o
		}
		p = &provider{name: name, lim: lim, perConn: lim.MessagesPerConnection, rate: float64(lim.PerMinute)}
		s.provs[name] = p
	}
	return p
}

// acquire waits for a delivery slot of the provider, transactional mail
// (urgent) first, and returns it with the provider's messages per
// connection. It fails temporarily when the wait would pass MaxWait.
func (s *shaper) acquire(ctx context.Context, name string, urgent bool) (*provider, int, *Error) {
	deadline := s.now().Add(s.cfg.MaxWait)
	queued := false // counted in p.urgent, until acquire returns
	for {
		s.mu.Lock()
		p := s.get(name)
		now := s.now()
		s.recover(p, now)
		if queued {
			p.urgent--
			s.waiters--
		}
		wait, ok := p.try(now, urgent)
		if ok {
			if queued {
				s.signal()
			}
			perConn := p.perConn
			s.mu.Unlock()
			return p, perConn, nil
		}
		if now.Add(wait).After(deadline) || ctx.Err() != nil {
			s.signal()
			s.mu.Unlock()
			return nil, 0, localError(false, "4.4.5", CmdConnect, "", "delivery deferred: destination provider throttled", errThrottled)
		}
		queued = urgent
		if queued {
			p.urgent++
		}
		s.waiters++
		wake := s.wake
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		if !queued {
			s.mu.Lock()
			s.waiters--
			s.mu.Unlock()
		}
	}
}

// tick advances the recovery of every throttled provider, so a provider
// that gets no mail is not reported throttled forever.
func (s *shaper) tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.provs {
		s.recover(p, now)
	}
}

// try takes a slot if the budget allows; otherwise it says how long to
// wait at most before trying again (a freed slot wakes waiters earlier).
func (p *provider) try(now time.Time, urgent bool) (time.Duration, bool) {
	const recheck = 250 * time.Millisecond
	switch {
	case now.Before(p.holdUntil):
		return p.holdUntil.Sub(now), false
	case !urgent && p.urgent > 0, p.active >= p.lim.Connections:
		return recheck, false
	case p.rate > 0 && now.Before(p.next):
		return p.next.Sub(now), false
	}
	p.active++
	if p.rate > 0 {
		p.next = later(p.next, now).Add(time.Duration(float64(time.Minute) / p.rate))
	}
	p.count(now)
	return 0, true
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// count records a start in the sliding one-minute window.
func (p *provider) count(now time.Time) {
	p.roll(now)
	p.cur++
}

func (p *provider) roll(now time.Time) {
	switch d := now.Sub(p.winStart); {
	case d >= 2*time.Minute:
		p.winStart, p.prev, p.cur = now, 0, 0
	case d >= time.Minute:
		p.winStart, p.prev, p.cur = p.winStart.Add(time.Minute), p.cur, 0
	}
}

// recent estimates the starts in the last minute.
func (p *provider) recent(now time.Time) float64 {
	p.roll(now)
	frac := 1 - float64(now.Sub(p.winStart))/float64(time.Minute)
	return float64(p.cur) + float64(p.prev)*max(frac, 0)
}

// release ends a delivery: throttled says the provider throttled it, and
// closedAfter > 0 that it closed a connection after that many messages.
func (s *shaper) release(p *provider, throttled bool, closedAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.active--
	if closedAfter > 0 && closedAfter < p.perConn {
		p.perConn = closedAfter
		throttled = true
	}
	if throttled {
		s.throttle(p, s.now())
	}
	s.signal()
}

// throttle halves the provider's rate and holds it; throttles during a
// hold are the same episode (the deliveries that were already under way).
func (s *shaper) throttle(p *provider, now time.Time) {
	if now.Before(p.holdUntil) {
		return
	}
	base := p.rate
	if base == 0 {
		base = max(p.recent(now), 2)
	}
	if !p.throttled {
		p.ceiling = base
		if p.lim.PerMinute > 0 {
			p.ceiling = float64(p.lim.PerMinute)
		}
	}
	p.rate = max(base/2, 1)
	p.throttled = true
	p.holdUntil = now.Add(s.cfg.Hold)
	p.next = p.holdUntil
	p.nextStep = p.holdUntil.Add(s.cfg.RecoverStep)
	if p.label == "" {
		p.label = "other"
		if s.labelled < maxThrottleLabels {
			p.label = p.name
			s.labelled++
		}
	}
	s.gauge.WithLabelValues(p.label).Set(1)
}

// recover raises a throttled provider's rate a step at a time after its
// hold, until it is back at its ceiling; s.mu is held.
func (s *shaper) recover(p *provider, now time.Time) {
	for p.throttled && !now.Before(p.nextStep) {
		p.rate += max(p.ceiling/4, 1)
		p.nextStep = p.nextStep.Add(s.cfg.RecoverStep)
		if p.nextStep.Before(now) {
			p.nextStep = now.Add(s.cfg.RecoverStep)
		}
		if p.rate >= p.ceiling {
			p.throttled = false
			p.rate = float64(p.lim.PerMinute)
			if p.label != p.name || !s.gauge.DeleteLabelValues(p.label) {
				s.gauge.WithLabelValues(p.label).Set(0)
			} else {
				s.labelled--
			}
			p.label = ""
		}
	}
}

// signal wakes every waiter; s.mu is held.
func (s *shaper) signal() {
	if s.waiters == 0 {
		return
	}
	close(s.wake)
	s.wake = make(chan struct{})
}

// throttleReply reports whether a reply says the sender goes too fast:
// 421 (the server closes the connection), or a temporary reply with an
// enhanced code that providers use for rate limits (4.7.0, 4.7.28,
// 4.7.650, 4.5.3 too many recipients/connections, 4.3.2 not accepting).
func throttleReply(code int, enhanced string) bool {
	if code == 421 {
		return true
	}
	if code < 400 || code >= 500 {
		return false
	}
	switch enhanced {
	case "4.7.0", "4.7.28", "4.7.650", "4.5.3", "4.3.2":
		return true
	}
	return false
}
