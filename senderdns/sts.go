package senderdns

import (
	"context"
	"strings"
	"time"

	"github.com/sealgate/sealgate/mtasts"
	"github.com/sealgate/sealgate/tlsrpt"
)

// checkMTASTS checks the _mta-sts record and the policy it announces, and
// that the policy names the domain's MX hosts.
func checkMTASTS(ctx context.Context, r Resolver, req Request) Finding {
	f := Finding{Check: "MTA-STS"}
	name := "_mta-sts." + req.Domain
	txts, err := r.LookupTXT(ctx, name)
	if err != nil && !notFound(err) {
		return lookupFailed("MTA-STS", name, err)
	}
	mxs, _ := r.LookupMX(ctx, req.Domain)
	var hosts []string
	for _, mx := range mxs {
		hosts = append(hosts, strings.TrimSuffix(mx.Host, "."))
	}
	publish := []string{txt(name, "v=STSv1; id="+time.Now().UTC().Format("20060102")+"01"),
		"https://mta-sts." + req.Domain + "/.well-known/mta-sts.txt (text/plain):\n" + policyText(hosts)}
	var ids []string
	for _, t := range txts {
		f.Found = append(f.Found, t)
		if id, err := mtasts.ParseRecord(t); err == nil {
			ids = append(ids, id)
		}
	}
	switch {
	case len(txts) == 0:
		f.Status, f.Publish = Missing, publish
		f.Explain = []string{"no MTA-STS record: mail to " + req.Domain + " may travel without authenticated TLS"}
		return f
	case len(ids) != 1:
		f.Status, f.Publish = Wrong, publish
		f.Explain = []string{name + " has no single valid v=STSv1 record with an id"}
		return f
	}
	if req.Policies == nil {
		f.Status = Warn
		f.Explain = []string{"record present (id " + ids[0] + "); the policy was not fetched"}
		return f
	}
	return stsPolicy(ctx, req, hosts, publish, f)
}

// stsPolicy fetches the policy and matches it with the MX hosts.
func stsPolicy(ctx context.Context, req Request, hosts, publish []string, f Finding) Finding {
	p, err := req.Policies.Get(ctx, req.Domain)
	if err != nil || p == nil {
		f.Status, f.Publish = Wrong, publish[1:]
		why := "it announces mode none"
		if err != nil {
			why = err.Error()
		}
		f.Explain = []string{"the record is there but the policy at https://mta-sts." + req.Domain + "/.well-known/mta-sts.txt cannot be used: " + why}
		return f
	}
	f.Found = append(f.Found, strings.TrimSpace(p.Text))
	f.Status = OK
	f.Explain = []string{"policy mode " + string(p.Mode) + ", mx " + strings.Join(p.MX, " ") + ", max_age " + p.MaxAge.String()}
	if p.Mode == mtasts.ModeTesting {
		f.Status = Warn
		f.Explain = append(f.Explain, "mode testing: failures are only reported; move to enforce when TLS reports are clean")
	}
	for _, h := range hosts {
		if !p.Match(h) {
			f.Status, f.Publish = Wrong, publish[1:]
			f.Explain = append(f.Explain, "MX "+h+" is not named by the policy: senders enforcing it cannot deliver there")
		}
	}
	return f
}

// policyText is a policy in testing mode for hosts.
func policyText(hosts []string) string {
	var b strings.Builder
	b.WriteString("version: STSv1\nmode: testing\n")
	for _, h := range hosts {
		b.WriteString("mx: " + h + "\n")
	}
	b.WriteString("max_age: 604800\n")
	return b.String()
}

// checkTLSRPT checks the _smtp._tls record (RFC 8460 §3).
func checkTLSRPT(ctx context.Context, r Resolver, req Request) Finding {
	f := Finding{Check: "TLS-RPT"}
	name := "_smtp._tls." + req.Domain
	txts, err := r.LookupTXT(ctx, name)
	if err != nil && !notFound(err) {
		return lookupFailed("TLS-RPT", name, err)
	}
	f.Found = txts
	publish := []string{txt(name, "v=TLSRPTv1; rua=mailto:tls-reports@"+req.Domain)}
	ruas, err := tlsrpt.Lookup(ctx, r, req.Domain)
	switch {
	case len(txts) == 0:
		f.Status, f.Publish = Missing, publish
		f.Explain = []string{"no TLS-RPT record: senders cannot report TLS failures on mail to " + req.Domain}
	case err != nil || len(ruas) == 0:
		f.Status, f.Publish = Wrong, publish
		f.Explain = []string{name + " has no single v=TLSRPTv1 record with a mailto: or https: rua"}
	default:
		f.Status = OK
		var to []string
		for _, u := range ruas {
			to = append(to, u.String())
		}
		f.Explain = []string{"reports go to " + strings.Join(to, ", ")}
	}
	return f
}
