// Package delivery is sealgate's outbound SMTP client: it implements
// mail.Courier. For each delivery it chooses the next hop (per-domain
// route, smarthost, or MX records with A/AAAA fallback and null MX), applies
// the strictest of the configured and requested TLS levels, reuses pooled
// connections within a per-destination connection limit, and reports a
// typed, per-recipient result.
//
// TLS levels (mail.TLSLevel) as this package applies them:
//
//   - TLSNone: no STARTTLS.
//   - TLSMay: STARTTLS when offered, certificate checked but not required
//     (Outcome.Verified says whether it passed); if STARTTLS is refused or
//     the handshake fails, the same host is retried once in plaintext on a
//     new connection, as Postfix's "may" level does.
//   - TLSEncrypt: STARTTLS required, certificate not required to verify.
//   - TLSVerify: STARTTLS required and the peer authenticated: the
//     certificate verified (PKIX) against Config.RootCAs for the next hop's
//     host name (the MX name, never the IP address that was dialled), or a
//     DANE TLSA match where DANE applies.
//   - TLSAuthenticated: as TLSVerify, and the next hop's identity
//     authenticated end to end, not only its certificate: a DANE TLSA match
//     (DNSSEC-signed), an MX host listed by an enforced MTA-STS policy, or
//     a route or smarthost in Config.TrustedHops ("pinned"). A next hop
//     that cannot be any of these is not used (a TLS failure, so the
//     protection layer moves a PHI recipient to its next method). A
//     PKIX-valid certificate for an MX name from unauthenticated DNS is
//     opportunistic: whoever forges the MX answer can show one.
//
// Per-domain policies (TLSPolicy: none, may, encrypt, verify, dane,
// dane-only, from Config.TLSPolicyNames) add two levels above these, and
// two sources can raise the requirement per next hop; levels only go up:
//
//   - MTA-STS (RFC 8461, Config.MTASTS): with an enforce policy, MX hosts
//     that do not match its patterns are not used and the others need a
//     PKIX-verified certificate; a testing policy is reported only.
//   - DANE (RFC 7672, Config.DANE or a dane/dane-only policy, with a
//     SecureResolver that trusts AD): a DNSSEC-signed MX host with usable
//     secure TLSA records must match one of them (PKIX is then not
//     required, and a mismatch is never accepted); secure but unusable
//     records still require TLS; an insecure answer falls back to the
//     configured level, except under dane-only, which defers.
//
// Outcome.Verified is true when the peer was authenticated by PKIX or
// DANE; Outcome.Verification says how (dane, mta-sts, pinned, pkix or
// none), and sealgate_delivery_verification_total counts accepted
// recipients by it. REQUIRETLS (RFC 8689 §4.2.1) needs that, a next hop that offers
// REQUIRETLS and, for MX hosts, a name from a DNSSEC-validated MX answer
// or an enforced MTA-STS policy. Each attempt's TLS result goes to Config.TLSReports (RFC
// 8460) and to sealgate_tls_policy_total.
//
// Before a protection layer chooses how to protect a message, Find says
// what the client knows or finds out (without connecting) of whether a
// destination can take mail over verified or authenticated TLS
// (mail.Destinations).
//
// Failures of required TLS are temporary, so the queue retries, except with
// REQUIRETLS (RFC 8689), where they are permanent (5.7.30).
package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sealgate/sealgate/internal/periodic"
	"github.com/sealgate/sealgate/mail"
)

// Config configures a Client. Zero values take the defaults noted.
type Config struct {
	// Hostname is the EHLO name; default os.Hostname().
	Hostname string
	// Routes maps a recipient domain to "host:port", like Postfix's
	// transport maps. "*" is not special.
	Routes map[string]string
	// Smarthost, "host:port", when set, receives all mail for domains
	// without a route (routes win, like Postfix's transport maps over
	// relayhost).
	Smarthost string
	// SmarthostUser and SmarthostPass, when set, authenticate with AUTH
	// PLAIN. Credentials are only sent over verified TLS: a smarthost with
	// credentials is always used at TLSVerify.
	SmarthostUser, SmarthostPass string
	// SmarthostImplicitTLS starts TLS on connect (port 465 style).
	SmarthostImplicitTLS bool
	// TrustedHops are routes or the smarthost ("host:port", exactly as in
	// Routes or Smarthost) that the operator declares as the final hop or
	// trusted (delivery.tls.trusted_hops). Their host name comes from the
	// configuration, not from DNS, so a certificate verified for it
	// authenticates the transport end to end ("pinned"). Other routes and
	// the smarthost are only the first hop: what happens after them is not
	// checked, so they never satisfy TLSAuthenticated on PKIX alone.
	TrustedHops []string
	// RootCAs verifies server certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// TLSPolicy is the TLS level per recipient domain; DefaultTLS applies
	// to others. The level used is the highest of the policy and
	// Delivery.TLS.
	TLSPolicy map[string]mail.TLSLevel
	// DefaultTLS is the level for domains without a policy. Its zero value
	// (TLSNone) is taken as TLSMay: plaintext by default is not offered.
	DefaultTLS mail.TLSLevel
	// TLSPolicyNames maps a recipient domain ("*.domain" for its
	// subdomains) or "default" to a delivery.tls.policy value (see
	// ParseTLSPolicy); it is merged with TLSPolicy, the strictest winning,
	// and its "default" replaces DefaultTLS.
	TLSPolicyNames map[string]string
	// Resolver looks up MX and host addresses; nil means net.DefaultResolver.
	// A SecureResolver (*dnsclient.Resolver) also enables DANE.
	Resolver Resolver
	// DANE applies DANE (RFC 7672) to every domain, not only to those with
	// a dane or dane-only policy. It needs a SecureResolver that trusts AD.
	DANE bool
	// MTASTS, when non-nil, applies MTA-STS policies (RFC 8461) to MX
	// deliveries (not to routes or the smarthost); *mtasts.Cache.
	MTASTS STSPolicies
	// HonorTLSRequiredNo lets a message's "TLS-Required: No" header (RFC
	// 8689 §5) switch MTA-STS and DANE off for it. It never lowers the
	// configured domain policy or the delivery's own level (a PHI
	// message's verified-TLS requirement stays), and is ignored for
	// REQUIRETLS messages. Default false: the header is not honoured.
	HonorTLSRequiredNo bool
	// TLSReports, when non-nil, receives each attempt's TLS result (RFC
	// 8460); *tlsrpt.Store.
	TLSReports TLSRecorder
	// Port is the TCP port of MX hosts; default "25".
	Port string
	// MaxConnsPerDest caps open connections (busy and idle) per next hop
	// (host:port); default 20. Callers over the limit wait, bounded by
	// their context.
	MaxConnsPerDest int
	// MaxConns caps open connections over all next hops; 0 = no limit.
	MaxConns int
	// IdleTimeout is how long an unused connection stays pooled (default
	// 10s); ConnectTimeout bounds a TCP connect (default 30s);
	// CommandTimeout bounds each command's reply and the TLS handshake
	// (default 5m); DataTimeout bounds sending the message and the final
	// reply (default 10m). RFC 5321 §4.5.3.2.
	IdleTimeout, ConnectTimeout, CommandTimeout, DataTimeout time.Duration
	// FindTimeout bounds the lookups Find makes for a destination it
	// knows nothing of (MX, TLSA, MTA-STS); default 20s. A lookup that
	// takes longer finds nothing, and the message that asked waits for
	// the queue's next attempt.
	FindTimeout time.Duration
	// Shaping, when non-nil, paces deliveries per destination provider
	// and backs off when a provider throttles (see Shaping). nil: no
	// shaping, and no shaping lock on the delivery path.
	Shaping *Shaping
	// Providers, when non-nil, counts each recipient's result by the
	// destination provider its domain's next hop rolls up to (see
	// Providers), with shaping or without.
	Providers *Providers
	// Registerer, when non-nil, gets the package's metrics.
	Registerer prometheus.Registerer
	// Logger gets operational messages (hosts, never addresses); nil
	// discards them.
	Logger *slog.Logger
}

// Resolver is the DNS the client uses; *net.Resolver satisfies it.
type Resolver interface {
	LookupMX(ctx context.Context, domain string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Client delivers mail over SMTP. It is safe for concurrent use; Close it
// to release pooled connections.
type Client struct {
	cfg       Config
	res       Resolver
	log       *slog.Logger
	routes    map[string]hop
	smarthost *hop
	sres      SecureResolver // c.res, when it can tell DNSSEC status
	sts       STSPolicies
	policy    map[string]TLSPolicy
	defPolicy TLSPolicy
	tlsCache  tls.ClientSessionCache
	metrics   *metrics
	pool      *pool
	reach     *reachBook
	finds     finds   // lookups Find is making
	shaper    *shaper // nil without Config.Shaping

	janitor   *periodic.Loop
	closeOnce sync.Once
}

var _ mail.Courier = (*Client)(nil)

// Providers returns the provider counters of Config.Providers (nil when
// none).
func (c *Client) Providers() *Providers {
	if c == nil {
		return nil
	}
	return c.cfg.Providers
}

// New checks cfg, applies defaults and starts the idle-connection janitor.
func New(cfg Config) (*Client, error) {
	if err := applyDefaults(&cfg); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		res:       cfg.Resolver,
		log:       cfg.Logger,
		routes:    make(map[string]hop, len(cfg.Routes)),
		sts:       cfg.MTASTS,
		policy:    make(map[string]TLSPolicy, len(cfg.TLSPolicy)),
		defPolicy: fromLevel(cfg.DefaultTLS),
		tlsCache:  tls.NewLRUClientSessionCache(256),
		metrics:   newMetrics(),
		reach:     newReachBook(time.Now),
	}
	if err := c.parseHops(); err != nil {
		return nil, err
	}
	c.sres, _ = cfg.Resolver.(SecureResolver)
	if err := c.policies(); err != nil {
		return nil, err
	}
	if err := c.metrics.register(cfg.Registerer); err != nil {
		return nil, err
	}
	if cfg.Shaping != nil {
		c.shaper = newShaper(*cfg.Shaping)
		if cfg.Providers != nil {
			c.shaper.label = cfg.Providers.labelOf
		}
		if cfg.Registerer != nil {
			if err := cfg.Registerer.Register(c.shaper.gauge); err != nil {
				return nil, fmt.Errorf("delivery: register metrics: %w", err)
			}
		}
	}
	c.pool = newPool(poolLimits{perDest: cfg.MaxConnsPerDest, total: cfg.MaxConns, idleTimeout: cfg.IdleTimeout}, c.metrics)
	c.janitor = periodic.Start(context.Background(), max(cfg.IdleTimeout/2, 10*time.Millisecond), false,
		func(_ context.Context, now time.Time) {
			c.pool.expire(false)
			if c.shaper != nil {
				c.shaper.tick(now)
			}
		})
	return c, nil
}

func applyDefaults(cfg *Config) error {
	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("delivery: no hostname: %w", err)
		}
		cfg.Hostname = h
	}
	if strings.ContainsFunc(cfg.Hostname, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return errors.New("delivery: hostname contains spaces or control characters")
	}
	if cfg.DefaultTLS == mail.TLSNone {
		cfg.DefaultTLS = mail.TLSMay
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&cfg.Port, "25")
	setDefaultInt(&cfg.MaxConnsPerDest, 20)
	setDefaultDur(&cfg.IdleTimeout, 10*time.Second)
	setDefaultDur(&cfg.ConnectTimeout, 30*time.Second)
	setDefaultDur(&cfg.CommandTimeout, 5*time.Minute)
	setDefaultDur(&cfg.DataTimeout, 10*time.Minute)
	setDefaultDur(&cfg.FindTimeout, 20*time.Second)
	return nil
}

func setDefault(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setDefaultInt(p *int, v int) {
	if *p <= 0 {
		*p = v
	}
}

func setDefaultDur(p *time.Duration, v time.Duration) {
	if *p <= 0 {
		*p = v
	}
}

// parseHops reads the routes and the smarthost once, so no delivery parses
// or resolves them again.
func (c *Client) parseHops() error {
	for d, r := range c.cfg.Routes {
		h, err := parseHop(r)
		if err != nil {
			return fmt.Errorf("delivery: route for %q: %w", d, err)
		}
		c.routes[strings.ToLower(strings.TrimSuffix(d, "."))] = h
	}
	if c.cfg.Smarthost == "" {
		return c.pinHops()
	}
	h, err := parseHop(c.cfg.Smarthost)
	if err != nil {
		return fmt.Errorf("delivery: smarthost: %w", err)
	}
	h.auth = c.cfg.SmarthostUser != "" || c.cfg.SmarthostPass != ""
	h.implicitTLS = c.cfg.SmarthostImplicitTLS
	c.smarthost = &h
	return c.pinHops()
}

// pinHops marks the routes and the smarthost named in TrustedHops; a name
// that is neither is a configuration error, never silently ignored.
func (c *Client) pinHops() error {
	for _, t := range c.cfg.TrustedHops {
		want, err := parseHop(t)
		if err != nil {
			return fmt.Errorf("delivery: trusted hop %q: %w", t, err)
		}
		found := false
		for d, h := range c.routes {
			if sameHop(h, want) {
				h.tls.pinned, found = true, true
				c.routes[d] = h
			}
		}
		if c.smarthost != nil && sameHop(*c.smarthost, want) {
			c.smarthost.tls.pinned, found = true, true
		}
		if !found {
			return fmt.Errorf("delivery: trusted hop %q is neither a route nor the smarthost", t)
		}
	}
	return nil
}

// sameHop compares host (case-insensitively) and port.
func sameHop(a, b hop) bool { return strings.EqualFold(a.host, b.host) && a.port == b.port }

// Close stops the janitor and closes idle connections; connections in use
// are closed when their delivery ends. Deliveries after Close fail
// temporarily.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.janitor.Stop()
		c.pool.close()
	})
	return nil
}
