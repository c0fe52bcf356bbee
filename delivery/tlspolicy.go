package delivery

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mtasts"
	"github.com/sealgate/sealgate/tlsrpt"
)

// TLSPolicy is a per-domain TLS requirement as written in
// delivery.tls.policy, like Postfix's smtp_tls_policy_maps levels. Levels
// only go up: the strictest of the configured policy, the delivery's own
// requirement, REQUIRETLS, MTA-STS and DANE applies.
type TLSPolicy int

// TLS policies, weakest first.
const (
	// PolicyNone: plaintext; STARTTLS is not attempted.
	PolicyNone TLSPolicy = iota
	// PolicyMay: STARTTLS when offered; plaintext if it fails.
	PolicyMay
	// PolicyEncrypt: STARTTLS required; the certificate need not verify.
	PolicyEncrypt
	// PolicyVerify: STARTTLS required and the peer authenticated: PKIX for
	// the MX name, or DANE when the MX host has usable secure TLSA records.
	PolicyVerify
	// PolicyDANE: opportunistic DANE (RFC 7672): DANE authentication where
	// secure TLSA records exist, else as PolicyMay.
	PolicyDANE
	// PolicyDANEOnly: DANE authentication required; a next hop without
	// usable secure TLSA records is not used.
	PolicyDANEOnly
)

var policyNames = [...]string{"none", "may", "encrypt", "verify", "dane", "dane-only"}

// ParseTLSPolicy reads a delivery.tls.policy value: none, may, encrypt,
// verify, dane or dane-only.
func ParseTLSPolicy(s string) (TLSPolicy, error) {
	for i, n := range policyNames {
		if strings.EqualFold(s, n) {
			return TLSPolicy(i), nil
		}
	}
	return PolicyMay, fmt.Errorf("delivery: unknown TLS policy %q", s)
}

// String is the configuration name of p.
func (p TLSPolicy) String() string {
	if p < 0 || int(p) >= len(policyNames) {
		return fmt.Sprintf("TLSPolicy(%d)", int(p))
	}
	return policyNames[p]
}

// level is the transport level p requires before DANE is looked at.
func (p TLSPolicy) level() mail.TLSLevel {
	switch p {
	case PolicyNone:
		return mail.TLSNone
	case PolicyEncrypt, PolicyDANEOnly:
		return mail.TLSEncrypt
	case PolicyVerify:
		return mail.TLSVerify
	}
	return mail.TLSMay
}

// requirement is what a delivery asks of the transport before the next
// hops are known: a level and how much DANE it wants (PolicyNone, not
// asked; PolicyDANE, where published; PolicyDANEOnly, always).
type requirement struct {
	level mail.TLSLevel
	dane  TLSPolicy
}

// requirement splits p into its level and its DANE demand.
func (p TLSPolicy) requirement() requirement {
	r := requirement{level: p.level()}
	if p >= PolicyDANE {
		r.dane = p
	}
	return r
}

// raise returns the stricter of r and o in each part.
func (r requirement) raise(o requirement) requirement {
	return requirement{level: max(r.level, o.level), dane: max(r.dane, o.dane)}
}

// fromLevel maps a queue level to the policy with the same requirement.
func fromLevel(l mail.TLSLevel) TLSPolicy {
	return TLSPolicy(min(max(int(l), 0), int(PolicyVerify)))
}

// SecureResolver is a Resolver that also says whether answers are
// DNSSEC-authentic; *dnsclient.Resolver implements it. DANE needs one that
// trusts its servers' AD bit.
type SecureResolver interface {
	Resolver
	LookupMXSecure(ctx context.Context, domain string) ([]*net.MX, bool, error)
	LookupHostSecure(ctx context.Context, host string) ([]string, bool, error)
	LookupTLSA(ctx context.Context, port int, host string) ([]*dns.TLSA, bool, error)
	TrustAD() bool
}

// STSPolicies gives the MTA-STS policy of a domain; *mtasts.Cache
// implements it. A nil policy means none applies; an error says one was
// announced but could not be had (reported, not fatal: RFC 8461 §5).
// Cached answers from the cache alone, with no lookup or fetch (nil: none
// cached), for Client.Reach.
type STSPolicies interface {
	Get(ctx context.Context, domain string) (*mtasts.Policy, error)
	Cached(domain string) *mtasts.Policy
}

// TLSRecorder receives the TLS result of every connection attempt and of
// every policy that could not be had, for RFC 8460 reports;
// *tlsrpt.Store implements it.
type TLSRecorder interface {
	Record(r tlsrpt.Result)
}

// policies builds the per-domain map from Config.TLSPolicy (queue levels)
// and Config.TLSPolicyNames (configuration strings; "default" sets the
// default), the strictest winning for a domain named in both.
func (c *Client) policies() error {
	for d, l := range c.cfg.TLSPolicy {
		c.setPolicy(d, fromLevel(l))
	}
	for d, name := range c.cfg.TLSPolicyNames {
		p, err := ParseTLSPolicy(name)
		if err != nil {
			return fmt.Errorf("delivery: TLS policy for %q: %w", d, err)
		}
		if d == "default" {
			c.defPolicy = p
			continue
		}
		c.setPolicy(d, p)
	}
	return nil
}

func (c *Client) setPolicy(domain string, p TLSPolicy) {
	k := strings.ToLower(strings.TrimSuffix(domain, "."))
	if old, ok := c.policy[k]; !ok || p > old {
		c.policy[k] = p
	}
}

// policyFor is the configured policy of domain: the domain itself, else
// "*.parent" entries from the nearest parent up, else the default.
func (c *Client) policyFor(domain string) TLSPolicy {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if p, ok := c.policy[d]; ok {
		return p
	}
	for {
		_, parent, ok := strings.Cut(d, ".")
		if !ok || parent == "" {
			return c.defPolicy
		}
		if p, ok := c.policy["*."+parent]; ok {
			return p
		}
		d = parent
	}
}
