package senderdns

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// dmarcRecord is a published DMARC policy and where it was found.
type dmarcRecord struct {
	name, text string
	tags       map[string]string
	inherited  bool // found at the organisational domain
}

// orgDomain is the organisational domain of d (RFC 7489 §3.2), from the
// public suffix list compiled into golang.org/x/net.
func orgDomain(d string) string {
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}

// findDMARC looks at _dmarc.domain, then at the organisational domain
// (RFC 7489 §6.6.3).
func findDMARC(ctx context.Context, r Resolver, domain string) (*dmarcRecord, error) {
	names := []string{domain}
	if o := orgDomain(domain); o != domain {
		names = append(names, o)
	}
	for i, d := range names {
		name := "_dmarc." + d
		txts, err := r.LookupTXT(ctx, name)
		if err != nil && !notFound(err) {
			return nil, err
		}
		var recs []string
		for _, t := range txts {
			if v, _, _ := strings.Cut(t, ";"); strings.TrimSpace(v) == "v=DMARC1" {
				recs = append(recs, t)
			}
		}
		if len(recs) == 1 {
			return &dmarcRecord{name: name, text: recs[0], tags: tags(recs[0]), inherited: i > 0}, nil
		}
	}
	return nil, nil
}

// checkDMARC reports the policy and whether the gateway's DKIM signatures
// align with the configured From domains.
func checkDMARC(ctx context.Context, r Resolver, req Request) Finding {
	f := Finding{Check: "DMARC"}
	rec, err := findDMARC(ctx, r, req.Domain)
	if err != nil {
		return lookupFailed("DMARC", "_dmarc."+req.Domain, err)
	}
	suggest := txt("_dmarc."+req.Domain, "v=DMARC1; p=none; rua=mailto:dmarc-reports@"+req.Domain+"; adkim=r; aspf=r")
	if rec == nil {
		f.Status = Missing
		f.Explain = []string{"no DMARC record at _dmarc." + req.Domain + " or its organisational domain: Gmail and Yahoo " +
			"require one of bulk senders; start with p=none and the reports, then move to p=quarantine"}
		f.Publish = []string{suggest}
		return f
	}
	f.Found = []string{rec.name + ": " + rec.text}
	p := rec.tags["p"]
	if rec.inherited && rec.tags["sp"] != "" {
		p = rec.tags["sp"]
	}
	f.Status = OK
	switch p {
	case "reject", "quarantine":
		f.Explain = append(f.Explain, "policy "+p+": mail that fails DMARC is "+map[string]string{"reject": "refused", "quarantine": "junked"}[p])
	case "none":
		f.Status = Warn
		f.Explain = append(f.Explain, "policy none: monitoring only (enough for the providers' bulk-sender rules, but it protects nothing)")
	default:
		f.Status = Wrong
		f.Explain = append(f.Explain, fmt.Sprintf("policy %q is not none, quarantine or reject: receivers ignore the record", p))
		f.Publish = []string{suggest}
	}
	if rec.tags["rua"] == "" {
		f.Explain = append(f.Explain, "no rua=: nobody receives aggregate reports, so failures go unseen")
	}
	alignment(&f, req, rec.tags["adkim"] == "s")
	return f
}

// alignment checks, for every configured From domain at or under the
// domain, whether the key sealgate signs it with is DMARC-aligned.
func alignment(f *Finding, req Request, strict bool) {
	mode := "relaxed"
	if strict {
		mode = "strict"
	}
	for _, from := range req.FromDomains {
		from = normal(from)
		if from != req.Domain && !strings.HasSuffix(from, "."+req.Domain) {
			continue
		}
		key, ok := signingKey(req.Keys, from)
		switch {
		case !ok:
			f.Explain = append(f.Explain, "From "+from+": no DKIM key signs it, so DMARC rests on SPF of the envelope sender alone")
			worst(f, Wrong)
		case strict && key != from || !strict && orgDomain(key) != orgDomain(from):
			f.Explain = append(f.Explain, "From "+from+": signed d="+key+", not aligned ("+mode+" alignment)")
			worst(f, Wrong)
		default:
			f.Explain = append(f.Explain, "From "+from+": signed d="+key+", aligned ("+mode+")")
		}
	}
}

// signingKey is the domain of the key sealgate signs From domain d with:
// d's own or its nearest parent's, as dkim.Signer chooses.
func signingKey(keys []DKIMKey, d string) (string, bool) {
	for ; strings.Contains(d, "."); _, d, _ = strings.Cut(d, ".") {
		for _, k := range keys {
			if normal(k.Domain) == d {
				return d, true
			}
		}
	}
	return "", false
}
