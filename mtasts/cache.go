package mtasts

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sealgate/sealgate/internal/periodic"
)

// Resolver is the DNS the cache uses (dnsclient.Resolver and net.Resolver
// satisfy it): TXT for _mta-sts records and host addresses for the policy
// host.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Config configures a Cache.
type Config struct {
	// Dir keeps one JSON file per domain, so policies survive a restart
	// (RFC 8461 §5.1: trust on first use depends on it). "" keeps them in
	// memory only.
	Dir string
	// Resolver is required.
	Resolver Resolver
	// RootCAs verify the policy host (nil: system roots); the gateway
	// passes the same pool as delivery, system roots plus
	// delivery.tls.ca_file.
	RootCAs *x509.CertPool
	// Timeout bounds one policy fetch; default 30s.
	Timeout time.Duration
	// RefreshInterval is how often Start's refresher revisits cached
	// domains (RFC 8461 §5.1 proactive refresh); default 1h.
	RefreshInterval time.Duration
	// RecheckInterval is how long Get trusts a cached policy before it
	// looks at the _mta-sts record again (a changed id means a new
	// policy); default 5m; negative: at every Get.
	RecheckInterval time.Duration
	// Port is the HTTPS port of policy hosts; "" is 443, as RFC 8461 §3.3
	// fixes it. Only tests set another, for a policy host on a free port.
	Port string
	// Registerer, when non-nil, gets the cache's gauge.
	Registerer prometheus.Registerer
	// Logger gets domain-free operational messages; nil discards them.
	Logger *slog.Logger
	// Shared, when set, also keeps policies in the store several nodes
	// share: read at start and at every refresh, written with each new
	// policy. nil: this node's Dir only.
	Shared SharedPolicies
}

// Cache finds, fetches and keeps MTA-STS policies. Construct it with
// NewCache, Start its refresher, Close it at the end. Get works without
// Start.
type Cache struct {
	cfg   Config
	http  *http.Client
	gauge prometheus.Gauge

	mu      sync.Mutex
	mem     map[string]*Policy
	checked map[string]time.Time // when the record was last looked at
	failed  map[string]failure   // recent failed fetches

	refresher *periodic.Loop
}

// NewCache checks cfg, creates Dir and loads the policies found there.
func NewCache(cfg Config) (*Cache, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("mtasts: a resolver is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = time.Hour
	}
	if cfg.RecheckInterval == 0 {
		cfg.RecheckInterval = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cache{cfg: cfg, mem: map[string]*Policy{}, checked: map[string]time.Time{},
		failed: map[string]failure{}, gauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sealgate_mtasts_cached_policies", Help: "MTA-STS policies held in the cache.",
		})}
	c.http = c.newHTTPClient()
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(c.gauge); err != nil {
			return nil, fmt.Errorf("mtasts: register metrics: %w", err)
		}
	}
	if err := c.load(); err != nil {
		return nil, err
	}
	c.loadShared(context.Background())
	return c, nil
}

// Start runs the refresher until ctx ends or Close is called.
func (c *Cache) Start(ctx context.Context) {
	c.refresher = periodic.Start(ctx, c.cfg.RefreshInterval, false, func(ctx context.Context, _ time.Time) { c.Refresh(ctx) })
}

// Close stops the refresher and waits for it.
func (c *Cache) Close() error {
	if c.refresher != nil {
		c.refresher.Stop()
	}
	return nil
}

// Refresh revisits every cached domain (those other nodes learned too,
// with Config.Shared): a changed id or a policy that would expire before
// the next refresh is fetched again; expired policies are dropped.
func (c *Cache) Refresh(ctx context.Context) {
	c.forgetFailures()
	c.loadShared(ctx)
	c.mu.Lock()
	domains := make([]string, 0, len(c.mem))
	for d := range c.mem {
		domains = append(domains, d)
	}
	c.mu.Unlock()
	for _, d := range domains {
		if ctx.Err() != nil {
			return
		}
		soon := time.Now().Add(2 * c.cfg.RefreshInterval)
		_, _ = c.get(ctx, d, soon, true)
	}
}

// Get returns the policy that applies to domain, or nil when there is
// none (or it is mode none). An error says a policy was announced but
// could not be had (for TLS reports); a usable cached policy is returned
// with a nil error whenever there is one (RFC 8461 §5.1).
func (c *Cache) Get(ctx context.Context, domain string) (*Policy, error) {
	p, err := c.get(ctx, strings.ToLower(strings.TrimSuffix(domain, ".")), time.Now(), false)
	if p != nil && p.Mode == ModeNone {
		return nil, nil
	}
	return p, err
}

// get implements Get; a cached policy expiring before fresh is refetched
// even when its id did not change. Unless force is set, a policy whose
// record was looked at within RecheckInterval is returned as is.
func (c *Cache) get(ctx context.Context, domain string, fresh time.Time, force bool) (*Policy, error) {
	cached := c.cached(domain)
	if cached != nil && !force && c.recent(domain) {
		return cached, nil
	}
	id, err := c.record(ctx, domain)
	if err != nil || id == "" {
		return cached, nil
	}
	if cached != nil {
		c.markChecked(domain)
	}
	if cached != nil && cached.ID == id && !cached.Expired(fresh) {
		return cached, nil
	}
	p, err := c.fetchOnce(ctx, domain, id, force)
	if err != nil {
		if cached != nil {
			return cached, nil
		}
		return nil, err
	}
	p.ID, p.Fetched = id, time.Now()
	c.store(domain, p)
	return p, nil
}

// failure is a fetch that failed, remembered so that deliveries to a
// domain with a broken policy host do not each wait for a fetch.
type failure struct {
	id  string
	at  time.Time
	err error
}

// fetchOnce fetches the policy for record id, unless a fetch for the same
// id failed within RecheckInterval (and force is not set). A fetch cut
// short by its caller's context (a delivery or a lookup that gave up) says
// nothing of the policy host and is not remembered.
func (c *Cache) fetchOnce(ctx context.Context, domain, id string, force bool) (*Policy, error) {
	c.mu.Lock()
	f, ok := c.failed[domain]
	c.mu.Unlock()
	if ok && !force && f.id == id && time.Since(f.at) < c.cfg.RecheckInterval {
		return nil, f.err
	}
	p, err := c.fetch(ctx, domain)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.cfg.Logger.Debug("MTA-STS policy fetch failed", slog.String("error", err.Error()))
		if ctx.Err() == nil {
			c.failed[domain] = failure{id: id, at: time.Now(), err: err}
		}
		return nil, err
	}
	delete(c.failed, domain)
	return p, nil
}

// forgetFailures drops remembered failures older than RecheckInterval.
func (c *Cache) forgetFailures() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d, f := range c.failed {
		if time.Since(f.at) >= c.cfg.RecheckInterval {
			delete(c.failed, d)
		}
	}
}

// recent reports whether domain's record was looked at within
// RecheckInterval.
func (c *Cache) recent(domain string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	last, ok := c.checked[domain]
	return ok && time.Since(last) < c.cfg.RecheckInterval
}

// markChecked notes that the record of a cached domain was looked at.
func (c *Cache) markChecked(domain string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mem[domain] != nil {
		c.checked[domain] = time.Now()
	}
}

// record looks up _mta-sts.<domain> (RFC 8461 §3.1) and returns the id of
// the one valid record, "" when there is none.
func (c *Cache) record(ctx context.Context, domain string) (string, error) {
	txts, err := c.cfg.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, t := range txts {
		if id, err := ParseRecord(t); err == nil {
			ids = append(ids, id)
		} else if strings.HasPrefix(t, "v=STSv1") {
			return "", err
		}
	}
	if len(ids) != 1 {
		return "", nil
	}
	return ids[0], nil
}

// Cached returns the unexpired policy the cache holds for domain, or nil,
// without a lookup or a fetch: what the delivery side knows of a
// destination before it plans a delivery there.
func (c *Cache) Cached(domain string) *Policy {
	return c.cached(strings.TrimSuffix(strings.ToLower(domain), "."))
}

// cached returns the unexpired cached policy of domain, dropping an
// expired one.
func (c *Cache) cached(domain string) *Policy {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.mem[domain]
	if p != nil && p.Expired(time.Now()) {
		delete(c.mem, domain)
		delete(c.checked, domain)
		c.gauge.Set(float64(len(c.mem)))
		if c.cfg.Dir != "" {
			_ = os.Remove(filepath.Join(c.cfg.Dir, domain+".json"))
		}
		return nil
	}
	return p
}
