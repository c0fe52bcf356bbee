// Package senderdns checks what a sending domain publishes in DNS for the
// mail sealgate sends on its behalf — SPF (RFC 7208), DKIM (RFC 6376),
// DMARC (RFC 7489), MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) — explains
// each finding and gives the exact records to publish where something is
// missing or wrong. It only reads DNS and the MTA-STS policy; it changes
// nothing.
package senderdns

import (
	"context"
	"crypto"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/mtasts"
)

// Resolver is the DNS the checks use; *dnsclient.Resolver satisfies it.
type Resolver interface {
	Query(ctx context.Context, name string, qtype uint16) (*dnsclient.Answer, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
	LookupMX(ctx context.Context, domain string) ([]*net.MX, error)
}

// PolicyFetcher gets a domain's MTA-STS policy over HTTPS; *mtasts.Cache
// satisfies it.
type PolicyFetcher interface {
	Get(ctx context.Context, domain string) (*mtasts.Policy, error)
}

// DKIMKey is one configured signing key.
type DKIMKey struct {
	Domain   string
	Selector string
	Public   crypto.PublicKey
	Path     string // the key file, for messages
}

// Request is what to check.
type Request struct {
	Domain string
	// IPs are the addresses the gateway sends from.
	IPs []netip.Addr
	// Keys are all configured DKIM keys; those for Domain (or, for
	// alignment, its parents) are used.
	Keys []DKIMKey
	// FromDomains are the header From domains the gateway's clients may
	// use, for DMARC alignment; those at or under Domain are checked.
	FromDomains []string
	// Policies fetches MTA-STS policies; nil skips the HTTPS part.
	Policies PolicyFetcher
	// BounceDomain, when set, is the domain of campaign mail's VERP return
	// paths (bounces.domain), checked as "Bounces"; BounceHost is the MX to
	// suggest for it (the gateway's host name).
	BounceDomain, BounceHost string
}

// Status is the outcome of one check.
type Status string

// Statuses, from good to bad.
const (
	OK      Status = "ok"
	Warn    Status = "warn"    // works, but weaker than the providers ask
	Wrong   Status = "wrong"   // published, but does not do what it must
	Missing Status = "missing" // nothing published
	Error   Status = "error"   // could not be looked up (try again)
)

// Finding is the result of one check.
type Finding struct {
	Check   string   `json:"check"` // SPF, DKIM, DMARC, MTA-STS, TLS-RPT, rDNS
	Status  Status   `json:"status"`
	Found   []string `json:"found,omitempty"`   // the records as published
	Explain []string `json:"explain"`           // what was found and why it matters
	Publish []string `json:"publish,omitempty"` // zone-file lines (or files) to publish
}

// Failed reports whether a finding needs action.
func (f Finding) Failed() bool { return f.Status != OK && f.Status != Warn }

// Check runs every check for req.Domain, in the order SPF, DKIM, DMARC,
// MTA-STS, TLS-RPT, the reverse DNS of the gateway's addresses, and the
// bounce domain when there is one.
func Check(ctx context.Context, r Resolver, req Request) []Finding {
	req.Domain = normal(req.Domain)
	out := []Finding{
		checkSPF(ctx, r, req),
		checkDKIM(ctx, r, req),
		checkDMARC(ctx, r, req),
		checkMTASTS(ctx, r, req),
		checkTLSRPT(ctx, r, req),
		checkRDNS(ctx, r, req),
	}
	if req.BounceDomain != "" {
		out = append(out, checkBounces(ctx, r, req))
	}
	return out
}

// normal lower-cases a domain and drops the root dot.
func normal(d string) string { return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), ".")) }

// txt quotes a TXT value for a zone file, in strings of at most 255 bytes.
func txt(name, value string) string {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, `"`+value[:255]+`"`)
		value = value[255:]
	}
	parts = append(parts, `"`+value+`"`)
	return dns.Fqdn(name) + " IN TXT " + strings.Join(parts, " ")
}

// lookupFailed is a finding for a lookup that failed for another reason
// than the name or record not existing.
func lookupFailed(check, name string, err error) Finding {
	return Finding{Check: check, Status: Error,
		Explain: []string{"the lookup of " + name + " failed (" + err.Error() + "); nothing can be said until it answers"}}
}

// tags reads a "k=v; k=v" record into a map with lower-case keys.
func tags(rec string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(f, "=")
		if ok {
			out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return out
}
