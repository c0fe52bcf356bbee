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
//
// The rate budgets (PerMinute, PerHour, and the reduced rate after a
// provider throttled) pace marketing mail only. Transactional mail is
// counted against them, so a campaign slows down to make room, but it
// never waits for them: it waits only for a free connection (marketing
// mail leaves one of the provider's connections to it), and while a
// provider's throttle hold lasts it goes one message at a time, so a
// reminder is tried within seconds without pressing a provider that just
// said stop.
type Shaping struct {
	// Limits are the default budget of every provider.
	Limits ProviderLimits
	// Providers overrides Limits per provider (registrable domain, lower
	// case, e.g. "outlook.com"); unset fields take BuiltinProviders' values
	// for the provider, then Limits'.
	Providers map[string]ProviderLimits
	// Hold is how long a provider gets no new delivery after it throttled
	// (default 1m).
	Hold time.Duration
	// RecoverStep is the interval of each recovery step after the hold:
	// the rate grows by a quarter of what it was before the throttle until
	// it is back (default 1m).
	RecoverStep time.Duration
	// MaxWait is the longest a delivery waits in place for its provider's
	// budget; past it, the delivery is not tried and its outcome is paced
	// (mail.Outcome.Paced) to a start time the shaper books for it, so
	// its queue worker moves on (default 2s).
	MaxWait time.Duration
	// Marketing reports whether a client (mail.Delivery.Client) sends
	// campaigns; its mail waits while transactional mail for the same
	// provider waits. nil: all mail is transactional.
	Marketing func(client string) bool
}

// ProviderLimits are one provider's budget; 0 means the default for
// Connections and MessagesPerConnection, and no limit for PerMinute and
// PerHour.
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
	// PerHour caps new deliveries per hour; 0 = no hourly cap. Starts are
	// spread evenly, so the pace is the lower of PerMinute and PerHour/60
	// a minute.
	PerHour int
}

// rate is the pace the limits allow, in starts per minute; 0 = unpaced.
func (l ProviderLimits) rate() float64 {
	r := float64(l.PerMinute)
	if h := float64(l.PerHour) / 60; l.PerHour > 0 && (r == 0 || h < r) {
		r = h
	}
	return r
}

// merge fills the unset fields of l from d.
func (l ProviderLimits) merge(d ProviderLimits) ProviderLimits {
	setDefaultInt(&l.Connections, d.Connections)
	setDefaultInt(&l.MessagesPerConnection, d.MessagesPerConnection)
	setDefaultInt(&l.PerMinute, d.PerMinute)
	setDefaultInt(&l.PerHour, d.PerHour)
	return l
}

// BuiltinProviders are the budgets sealgate starts from for the large
// mailbox providers, keyed as the MX rollup names them. The providers
// publish no fixed numbers; they adapt what they accept to the sending
// IP's reputation and volume and say so with throttle replies, which the
// shaper follows. These are cautious starting points for a sending IP
// without a long history there, in line with the providers' bulk sender
// guidance (ramp up, few connections, steady pace); a Shaping.Providers
// entry overrides them field by field.
var BuiltinProviders = map[string]ProviderLimits{
	// Gmail and Google Workspace (aspmx.l.google.com,
	// gmail-smtp-in.l.google.com): many messages per connection are
	// fine; volume spikes from a young IP are answered with 421 4.7.28 or
	// 4.7.0.
	"google.com": {Connections: 10, MessagesPerConnection: 100, PerMinute: 600, PerHour: 20000},
	// Yahoo and AOL (mta*.am0.yahoodns.net, mx-aol.mail.gm0.yahoodns.net):
	// the strictest of the three; defers with 421 4.7.0 [TS0x] on volume
	// from few connections, so few connections with few messages each.
	"yahoodns.net": {Connections: 5, MessagesPerConnection: 20, PerMinute: 300, PerHour: 10000},
	// Microsoft: Outlook.com/Hotmail (*.olc.protection.outlook.com) and
	// every Microsoft 365 tenant (*.mail.protection.outlook.com) share
	// this budget; rate limits are answered with 451 4.7.650 or 421.
	"outlook.com": {Connections: 8, MessagesPerConnection: 50, PerMinute: 400, PerHour: 15000},
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
	// label is the provider metrics' label of a provider (Providers):
	// the gauge names a provider only when they do; nil: any provider
	label func(provider string) string

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
	last      time.Time // the last paced start
	booked    time.Time // the last start booked for a paced delivery

	active   int // deliveries in progress
	activeTx int // of which transactional
	urgent   int // transactional deliveries waiting

	winStart  time.Time // sliding one-minute count of starts
	cur, prev int
}

func newShaper(cfg Shaping) *shaper {
	setDefaultInt(&cfg.Limits.Connections, 10)
	setDefaultInt(&cfg.Limits.MessagesPerConnection, 100)
	setDefaultDur(&cfg.Hold, time.Minute)
	setDefaultDur(&cfg.RecoverStep, time.Minute)
	setDefaultDur(&cfg.MaxWait, 2*time.Second)
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
		lim := s.limits(name)
		p = &provider{name: name, lim: lim, perConn: lim.MessagesPerConnection, rate: lim.rate()}
		s.provs[name] = p
	}
	return p
}

// limits is the budget of the provider named name: its Providers entry,
// then its built-in one, then the default Limits.
func (s *shaper) limits(name string) ProviderLimits {
	lim := s.cfg.Limits
	if b, ok := BuiltinProviders[name]; ok {
		lim = b.merge(ProviderLimits{Connections: lim.Connections, MessagesPerConnection: lim.MessagesPerConnection})
	}
	if o, ok := s.cfg.Providers[name]; ok {
		lim = o.merge(lim)
	}
	return lim
}

// paced is the outcome of a delivery the shaper did not let start: a
// temporary failure that carries the start time booked for it.
type paced struct {
	err *Error
	at  time.Time
}

// acquire waits for a delivery slot of the provider, transactional mail
// (urgent) first, and returns it with the provider's messages per
// connection. When the wait would pass MaxWait it returns instead the time
// booked for the delivery to come back (paced).
func (s *shaper) acquire(ctx context.Context, name string, urgent bool) (*provider, int, *paced) {
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
			at := s.book(p, now, urgent)
			s.signal()
			s.mu.Unlock()
			return nil, 0, &paced{at: at,
				err: localError(false, "4.4.5", CmdConnect, "", "delivery paced: destination provider's budget is spent or it is throttling", errThrottled)}
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

// recheck is how long a delivery waiting for a connection sleeps before it
// looks again (a freed slot wakes it earlier).
const recheck = 250 * time.Millisecond

// book picks the time a delivery that cannot start now comes back: for
// paced marketing mail the provider's next start not yet booked, so the
// deliveries deferred together return one by one at the provider's pace,
// not all at once; otherwise (waiting for a connection) shortly. s.mu is
// held.
func (s *shaper) book(p *provider, now time.Time, urgent bool) time.Time {
	if urgent || p.rate <= 0 {
		return later(now.Add(time.Second), p.holdUntil)
	}
	at := later(now, p.holdUntil)
	if prev := later(p.last, p.booked); !prev.IsZero() {
		at = later(at, p.after(prev, s.cfg.RecoverStep))
	}
	p.booked = at
	return at
}

// after is the first paced start after one at t, at the pace projected
// from t on: a recovery step before it brings it forward.
func (p *provider) after(t time.Time, step time.Duration) time.Time {
	r := p.projected(t, step)
	if r <= 0 {
		return t
	}
	at := t.Add(time.Duration(float64(time.Minute) / r))
	b := p.nextStep
	for range 8 { // a recovery takes a few steps (a quarter each)
		if !p.throttled || !b.Before(at) {
			break
		}
		if b.After(t) {
			if r := p.projected(b, step); r <= 0 {
				return b
			} else if c := b.Add(time.Duration(float64(time.Minute) / r)); c.Before(at) {
				at = c
			}
		}
		b = b.Add(step)
	}
	return at
}

// projected is the pace the provider will have at t if it does not
// throttle again: a throttled provider's rate climbs a step per
// RecoverStep back to its own (0 = unpaced). Booking by it keeps mail
// deferred during a throttle from coming back at the reduced pace long
// after the provider recovered.
func (p *provider) projected(t time.Time, step time.Duration) float64 {
	if !p.throttled || t.Before(p.nextStep) {
		return p.rate
	}
	r := p.rate + float64(1+int(t.Sub(p.nextStep)/step))*max(p.ceiling/4, 1)
	if r >= p.ceiling {
		return p.lim.rate()
	}
	return r
}

// interval is the time between two paced starts; p.rate > 0.
func (p *provider) interval() time.Duration {
	return time.Duration(float64(time.Minute) / p.rate)
}

// try takes a slot if the budget allows; otherwise it says how long to
// wait at most before trying again (a freed slot wakes waiters earlier).
// Transactional mail (urgent) is counted in the provider's window but
// waits only for a connection, and for the one transactional delivery
// already under way while a throttle hold lasts; marketing mail waits for
// the hold, the pace, and leaves one connection to transactional mail.
func (p *provider) try(now time.Time, urgent bool) (time.Duration, bool) {
	if urgent {
		if p.active >= p.lim.Connections || (now.Before(p.holdUntil) && p.activeTx > 0) {
			return recheck, false
		}
		p.active++
		p.activeTx++
		p.count(now)
		return 0, true
	}
	switch {
	case now.Before(p.holdUntil):
		return p.holdUntil.Sub(now), false
	case p.urgent > 0, p.active >= p.marketingConns():
		return recheck, false
	case p.rate > 0 && now.Before(p.next):
		return p.next.Sub(now), false
	}
	p.active++
	if p.rate > 0 {
		p.next = later(p.next, now).Add(p.interval())
		p.last = now
	}
	p.count(now)
	return 0, true
}

// marketingConns is how many of the provider's connections marketing mail
// may use: all but one, which stays free for transactional mail.
func (p *provider) marketingConns() int {
	return max(p.lim.Connections-1, 1)
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

// release ends a delivery (urgent: a transactional one): throttled says
// the provider throttled it, and closedAfter > 0 that it closed a
// connection after that many messages.
func (s *shaper) release(p *provider, urgent, throttled bool, closedAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.active--
	if urgent {
		p.activeTx--
	}
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
		if r := p.lim.rate(); r > 0 {
			p.ceiling = r
		}
	}
	p.rate = max(base/2, 1)
	p.throttled = true
	p.holdUntil = now.Add(s.cfg.Hold)
	p.next = p.holdUntil
	p.nextStep = p.holdUntil.Add(s.cfg.RecoverStep)
	if p.label == "" {
		p.label = "other"
		if s.labelled < maxThrottleLabels && (s.label == nil || s.label(p.name) == p.name) {
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
			p.rate = p.lim.rate()
		}
		// a start set at the slower pace comes forward to the new one
		if p.rate <= 0 {
			p.next = time.Time{}
		} else if n := now.Add(p.interval()); n.Before(p.next) {
			p.next = n
		}
		if !p.throttled {
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
