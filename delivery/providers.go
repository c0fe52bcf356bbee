package delivery

import (
	"fmt"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/bounce"
	"github.com/sealgate/sealgate/mail"
)

// Results counted in sealgate_provider_deliveries_total{result}: a
// recipient the provider took, one it refused for now, and one it refused
// for good, by bounce class.
const (
	ResultDelivered     = "delivered"
	ResultDeferred      = "deferred"
	ResultBouncedHard   = "bounced_hard"
	ResultBouncedSoft   = "bounced_soft"
	ResultBouncedPolicy = "bounced_policy"
	ResultBouncedTLS    = "bounced_tls"
	ResultBouncedOther  = "bounced_other"
)

// OtherProvider is the provider label of every destination that has no
// label of its own.
const OtherProvider = "other"

// Defaults of ProvidersConfig.
const (
	DefaultProviderMinDomains = 5
	DefaultProviderMaxLearned = 20
	// maxCandidates bounds the providers tracked on their way to a label;
	// past it, the count starts afresh.
	maxCandidates = 10000
	// domainCacheSize bounds each of the two generations of the recipient
	// domain → provider memory that complaints and unsubscribes are
	// attributed by.
	domainCacheSize = 50000
)

// ProvidersConfig sets which destination providers get a label of their
// own in the provider metrics.
type ProvidersConfig struct {
	// Known providers always have their own label (MX rollup names, e.g.
	// "outlook.com"), besides BuiltinProviders.
	Known []string
	// MinDomains is how many distinct recipient domains a provider that
	// is not known must serve before it gets its own label (default 5).
	// A single person's own domain on its own mail server rolls up to a
	// provider that serves one domain, so it stays "other".
	MinDomains int
	// MaxLearned caps the providers that earn a label that way (default
	// 20); later ones stay "other".
	MaxLearned int
}

// Providers counts delivery results, complaints and unsubscribes by
// destination provider: the registrable domain of the MX host mail for
// a recipient domain goes to (the same name the shaper budgets by), with
// or without shaping. The label values are bounded: the known providers,
// at most MaxLearned providers that serve MinDomains recipient domains or
// more, and "other". A recipient address or the domain of a provider that
// serves fewer domains is never a label value.
type Providers struct {
	deliveries *prometheus.CounterVec
	complaints *prometheus.CounterVec
	unsubs     *prometheus.CounterVec
	minDomains int
	maxLearned int

	mu         sync.Mutex
	known      map[string]bool
	learned    map[string]bool
	candidates map[string]map[string]struct{} // provider → recipient domains seen
	domains    map[string]string              // recipient domain → provider, current generation
	previous   map[string]string              // the generation before
}

// NewProviders makes the provider counters and registers them with reg
// when it is not nil.
func NewProviders(cfg ProvidersConfig, reg prometheus.Registerer) (*Providers, error) {
	setDefaultInt(&cfg.MinDomains, DefaultProviderMinDomains)
	setDefaultInt(&cfg.MaxLearned, DefaultProviderMaxLearned)
	p := &Providers{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_provider_deliveries_total",
			Help: "Recipients tried per destination provider (MX rollup), by result: delivered, deferred, bounced_hard, bounced_soft, bounced_policy, bounced_tls, bounced_other; DSNs that came back later to a bounce address are counted too (deferred, bounced_*).",
		}, []string{"provider", "result"}),
		complaints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_provider_complaints_total",
			Help: "Complaints (ARF reports) per destination provider of the complaining recipient.",
		}, []string{"provider"}),
		unsubs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_provider_unsubscribes_total",
			Help: "One-click unsubscribes per destination provider of the recipient.",
		}, []string{"provider"}),
		minDomains: cfg.MinDomains, maxLearned: cfg.MaxLearned,
		known: make(map[string]bool), learned: make(map[string]bool),
		candidates: make(map[string]map[string]struct{}),
		domains:    make(map[string]string), previous: make(map[string]string),
	}
	for name := range BuiltinProviders {
		p.known[name] = true
	}
	for _, name := range cfg.Known {
		p.known[strings.ToLower(name)] = true
	}
	for name := range p.known {
		p.complaints.WithLabelValues(name)
		p.unsubs.WithLabelValues(name)
	}
	p.complaints.WithLabelValues(OtherProvider)
	p.unsubs.WithLabelValues(OtherProvider)
	if reg != nil {
		for i, c := range []prometheus.Collector{p.deliveries, p.complaints, p.unsubs} {
			if err := reg.Register(c); err != nil {
				for _, done := range []prometheus.Collector{p.deliveries, p.complaints, p.unsubs}[:i] {
					reg.Unregister(done)
				}
				return nil, fmt.Errorf("delivery: register provider metrics: %w", err)
			}
		}
	}
	return p, nil
}

// Result is the sealgate_provider_deliveries_total result of one
// recipient's outcome.
func Result(o mail.Outcome) string {
	switch {
	case o.Err == nil:
		return ResultDelivered
	case !o.Permanent:
		return ResultDeferred
	}
	return BouncedResult(bounce.Classify(o))
}

// BouncedResult is the sealgate_provider_deliveries_total result of a
// recipient refused for good with class c.
func BouncedResult(c bounce.Class) string {
	switch c {
	case bounce.Hard:
		return ResultBouncedHard
	case bounce.Soft:
		return ResultBouncedSoft
	case bounce.Policy:
		return ResultBouncedPolicy
	case bounce.TLS:
		return ResultBouncedTLS
	}
	return ResultBouncedOther
}

// count records the outcomes of the recipients tried (indexes into out)
// of one delivery to domain, whose first next hop rolls up to provider
// ("" when there was none). Outcomes the shaper paced were not tried and
// are not counted.
func (p *Providers) count(domain, provider string, out []mail.Outcome, tried []int) {
	if p == nil {
		return
	}
	label := p.learn(domainKey(domain), provider)
	for _, i := range tried {
		if out[i].Paced.IsZero() {
			p.deliveries.WithLabelValues(label, Result(out[i])).Inc()
		}
	}
}

// learn remembers that domain's mail goes to provider and returns the
// provider's label.
func (p *Providers) learn(domain, provider string) string {
	if provider == "" {
		return OtherProvider
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if domain != "" && p.domains[domain] != provider {
		if len(p.domains) >= domainCacheSize {
			p.previous, p.domains = p.domains, make(map[string]string)
		}
		p.domains[domain] = provider
	}
	if p.known[provider] || p.learned[provider] {
		return provider
	}
	if len(p.learned) >= p.maxLearned {
		return OtherProvider
	}
	seen := p.candidates[provider]
	if seen == nil {
		if len(p.candidates) >= maxCandidates {
			// mostly providers of one domain each: start counting
			// afresh, so a hosting provider seen later can still
			// earn its label
			p.candidates = make(map[string]map[string]struct{})
		}
		seen = make(map[string]struct{})
		p.candidates[provider] = seen
	}
	seen[domain] = struct{}{}
	if len(seen) < p.minDomains {
		return OtherProvider
	}
	delete(p.candidates, provider)
	p.learned[provider] = true
	if len(p.learned) >= p.maxLearned {
		p.candidates = nil // no more labels to give: forget the rest
	}
	return provider
}

// Label is the provider label of a recipient address or domain: the
// provider its mail went to, if a delivery to its domain taught it and
// that provider has a label, otherwise "other".
func (p *Providers) Label(recipient string) string {
	domain := domainKey(recipient[strings.LastIndexByte(recipient, '@')+1:])
	p.mu.Lock()
	defer p.mu.Unlock()
	provider, ok := p.domains[domain]
	if !ok {
		provider = p.previous[domain]
	}
	return p.labelLocked(provider)
}

// labelOf is the label of a provider (an MX rollup name): its name when
// it has a label of its own, otherwise "other".
func (p *Providers) labelOf(provider string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.labelLocked(provider)
}

// labelLocked is labelOf with p.mu held.
func (p *Providers) labelLocked(provider string) string {
	if p.known[provider] || p.learned[provider] {
		return provider
	}
	return OtherProvider
}

// domainKey is the form recipient domains are remembered in: the A-label
// form, so that bücher.test and xn--bcher-kva.test are one domain.
func domainKey(domain string) string {
	if a, err := addr.ASCIIDomain(domain); err == nil {
		return a
	}
	return strings.ToLower(domain)
}

// Complained counts a complaint about mail to recipient (address or
// domain).
func (p *Providers) Complained(recipient string) {
	if p != nil {
		p.complaints.WithLabelValues(p.Label(recipient)).Inc()
	}
}

// Reported counts the result of an asynchronous report about mail to
// recipient (address or domain) that the provider accepted before: a
// DSN that came back to its bounce address (result deferred for a delay,
// a BouncedResult for a failure). The provider is the one a delivery to
// the recipient's domain taught, as for Complained; a result not in the
// fixed set is counted as bounced_other, so the labels stay bounded.
func (p *Providers) Reported(recipient, result string) {
	if p == nil {
		return
	}
	switch result {
	case ResultDelivered, ResultDeferred, ResultBouncedHard, ResultBouncedSoft, ResultBouncedPolicy, ResultBouncedTLS:
	default:
		result = ResultBouncedOther
	}
	p.deliveries.WithLabelValues(p.Label(recipient), result).Inc()
}

// Unsubscribed counts a one-click unsubscribe of recipient (address or
// domain).
func (p *Providers) Unsubscribed(recipient string) {
	if p != nil {
		p.unsubs.WithLabelValues(p.Label(recipient)).Inc()
	}
}
