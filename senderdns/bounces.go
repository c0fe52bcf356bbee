package senderdns

import (
	"context"
	"strings"

	"github.com/miekg/dns"
)

// checkBounces checks the bounce domain campaign mail leaves with as its
// envelope sender (VERP, Request.BounceDomain): that SPF on it can align
// with the From domain for DMARC (same organisational domain, relaxed
// alignment, RFC 7489 §3.1.2), that its SPF record authorises the
// gateway's addresses, and that it has an MX to bring the bounces back.
func checkBounces(ctx context.Context, r Resolver, req Request) Finding {
	b := normal(req.BounceDomain)
	f := Finding{Check: "Bounces", Status: OK}
	if orgDomain(b) == orgDomain(req.Domain) {
		f.Explain = append(f.Explain, "campaign mail's return path "+b+" shares "+req.Domain+
			"'s organisational domain: its SPF result aligns for DMARC (relaxed)")
	} else {
		f.Status = Warn
		f.Explain = append(f.Explain, "campaign mail's return path "+b+" is not under "+orgDomain(req.Domain)+
			": its SPF cannot align for DMARC, only DKIM can; use a subdomain such as bounce."+req.Domain)
	}
	spf := checkSPF(ctx, r, Request{Domain: b, IPs: req.IPs})
	f.Found = spf.Found
	for _, e := range spf.Explain {
		f.Explain = append(f.Explain, "SPF of "+b+": "+e)
	}
	f.Publish = append(f.Publish, spf.Publish...)
	worst(&f, spf.Status)
	mx, err := r.LookupMX(ctx, b)
	switch {
	case err != nil && !notFound(err):
		worst(&f, Error)
		f.Explain = append(f.Explain, "the MX lookup of "+b+" failed ("+err.Error()+")")
	case len(mx) == 0:
		worst(&f, Missing)
		f.Explain = append(f.Explain, b+" has no MX: asynchronous bounces and complaints cannot come back to the bounce listener")
		host := req.BounceHost
		if host == "" {
			host = "gateway.invalid"
		}
		f.Publish = append(f.Publish, dns.Fqdn(b)+" IN MX 10 "+dns.Fqdn(host))
	default:
		var hosts []string
		for _, m := range mx {
			hosts = append(hosts, strings.TrimSuffix(m.Host, "."))
		}
		f.Explain = append(f.Explain, b+" MX: "+strings.Join(hosts, ", ")+" (must reach bounces.listen on port 25)")
	}
	return f
}
