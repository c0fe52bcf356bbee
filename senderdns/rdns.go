package senderdns

import (
	"context"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// checkRDNS checks that each gateway address has a PTR name that resolves
// back to it (forward-confirmed reverse DNS), which Gmail and Yahoo
// require of every sender.
func checkRDNS(ctx context.Context, r Resolver, req Request) Finding {
	f := Finding{Check: "rDNS", Status: OK}
	if len(req.IPs) == 0 {
		f.Status = Error
		f.Explain = []string{"the gateway's addresses are not known: give --ip, or let hostname resolve to them"}
		return f
	}
	for _, ip := range req.IPs {
		worst(&f, rdnsOne(ctx, r, ip, &f))
	}
	return f
}

// rdnsOne checks one address, adding to f.
func rdnsOne(ctx context.Context, r Resolver, ip netip.Addr, f *Finding) Status {
	rev, err := dns.ReverseAddr(ip.String())
	if err != nil {
		f.Explain = append(f.Explain, ip.String()+": "+err.Error())
		return Error
	}
	ans, err := r.Query(ctx, rev, dns.TypePTR)
	if err != nil && !notFound(err) {
		f.Explain = append(f.Explain, "the PTR lookup for "+ip.String()+" failed ("+err.Error()+")")
		return Error
	}
	var names []string
	if ans != nil {
		for _, rr := range ans.Records {
			if p, ok := rr.(*dns.PTR); ok {
				names = append(names, strings.TrimSuffix(p.Ptr, "."))
			}
		}
	}
	if len(names) == 0 {
		f.Explain = append(f.Explain, ip.String()+" has no PTR record: the big providers refuse or junk mail from it; "+
			"ask whoever runs the address (the hosting provider) to set its reverse name to the gateway's hostname")
		return Missing
	}
	f.Found = append(f.Found, ip.String()+" PTR "+strings.Join(names, " "))
	for _, n := range names {
		addrs, _ := r.LookupHost(ctx, n)
		for _, a := range addrs {
			if b, err := netip.ParseAddr(a); err == nil && b.Unmap() == ip.Unmap() {
				f.Explain = append(f.Explain, ip.String()+": reverse name "+n+" resolves back to it")
				return OK
			}
		}
	}
	f.Explain = append(f.Explain, ip.String()+": reverse name "+strings.Join(names, " ")+" does not resolve back to it; publish an address record:")
	rr := "A"
	if !ip.Unmap().Is4() {
		rr = "AAAA"
	}
	f.Publish = append(f.Publish, dns.Fqdn(names[0])+" IN "+rr+" "+ip.Unmap().String())
	return Wrong
}
