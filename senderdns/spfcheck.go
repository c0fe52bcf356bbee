package senderdns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// checkSPF evaluates the domain's SPF record for every gateway address.
func checkSPF(ctx context.Context, r Resolver, req Request) Finding {
	f := Finding{Check: "SPF"}
	rec, err := spfRecord(ctx, r, req.Domain)
	var se *spfError
	if errors.As(err, &se) && se.result == SPFTempError {
		return lookupFailed("SPF", req.Domain, err)
	}
	if err != nil {
		f.Status = Wrong
		f.Explain = append(f.Explain, err.Error())
		f.Publish = []string{txt(req.Domain, spfFor(req.IPs, ""))}
		f.Explain = append(f.Explain, "publish one record that joins them, such as:")
		return f
	}
	if rec == "" {
		f.Status = Missing
		f.Explain = []string{req.Domain + " publishes no SPF record: receivers cannot tell that this gateway may send for it"}
		f.Publish = []string{txt(req.Domain, spfFor(req.IPs, ""))}
		return f
	}
	f.Found = []string{rec}
	if len(req.IPs) == 0 {
		f.Status = Error
		f.Explain = []string{"the gateway's addresses are not known: give --ip, or let hostname resolve to them"}
		return f
	}
	f.Status = OK
	var missing []netip.Addr
	for _, ip := range req.IPs {
		e := &spfEval{r: r, ip: ip}
		res, err := e.checkHost(ctx, req.Domain)
		line := fmt.Sprintf("%s: %s (%d of %d DNS-querying terms used)", ip, res, e.lookups, maxSPFLookups)
		if err != nil {
			line += ": " + err.Error()
		}
		f.Explain = append(f.Explain, line)
		switch res {
		case SPFPass:
		case SPFTempError:
			f.Status = Error
		case SPFPermError:
			f.Status = Wrong
		default:
			f.Status = Wrong
			missing = append(missing, ip)
		}
	}
	if f.Status == Wrong {
		f.Explain = append(f.Explain, "mail from this gateway fails SPF; receivers may junk or refuse it")
		f.Publish = []string{txt(req.Domain, spfFor(missing, rec))}
	}
	return f
}

// spfFor returns a record that authorises ips: the existing record with
// the addresses added before its final "all" (or redirect), or a new one
// ending in "-all".
func spfFor(ips []netip.Addr, existing string) string {
	var add []string
	for _, ip := range ips {
		if ip.Is4() || ip.Is4In6() {
			add = append(add, "ip4:"+ip.Unmap().String())
		} else {
			add = append(add, "ip6:"+ip.String())
		}
	}
	if existing == "" {
		return strings.Join(append(append([]string{"v=spf1"}, add...), "-all"), " ")
	}
	terms := strings.Fields(existing)
	out := []string{terms[0]}
	placed := false
	for _, t := range terms[1:] {
		l := strings.ToLower(strings.TrimLeft(t, "+-~?"))
		if !placed && (l == "all" || strings.HasPrefix(l, "redirect=")) {
			out, placed = append(out, add...), true
		}
		out = append(out, t)
	}
	if !placed {
		out = append(out, add...)
	}
	return strings.Join(out, " ")
}
