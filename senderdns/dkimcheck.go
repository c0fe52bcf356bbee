package senderdns

import (
	"context"
	"strings"

	"github.com/sealgate/sealgate/dkim"
)

// checkDKIM compares each configured key for the domain with the key
// published at selector._domainkey.domain.
func checkDKIM(ctx context.Context, r Resolver, req Request) Finding {
	f := Finding{Check: "DKIM", Status: OK}
	var keys []DKIMKey
	for _, k := range req.Keys {
		if normal(k.Domain) == req.Domain {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		f.Status = Missing
		f.Explain = []string{"no DKIM key is configured for " + req.Domain + ": make one with `sealgate dkim keygen --domain " +
			req.Domain + " --selector S`, add it under dkim: in the config and publish the record it prints"}
		return f
	}
	for _, k := range keys {
		worst(&f, dkimKey(ctx, r, req.Domain, k, &f))
	}
	return f
}

// dkimKey checks one key and returns its status, adding to f.
func dkimKey(ctx context.Context, r Resolver, domain string, k DKIMKey, f *Finding) Status {
	name := k.Selector + "._domainkey." + domain
	want, err := dkim.RecordValue(k.Public)
	if err != nil {
		f.Explain = append(f.Explain, k.Path+": "+err.Error())
		return Error
	}
	wantP := tags(want)["p"]
	txts, err := r.LookupTXT(ctx, name)
	if err != nil && !notFound(err) {
		f.Explain = append(f.Explain, "the lookup of "+name+" failed ("+err.Error()+")")
		return Error
	}
	f.Found = append(f.Found, txts...)
	if len(txts) == 0 {
		f.Explain = append(f.Explain, name+" publishes no key: receivers cannot verify the signatures made with "+k.Path)
		f.Publish = append(f.Publish, txt(name, want))
		return Missing
	}
	for _, t := range txts {
		p := strings.Join(strings.Fields(tags(t)["p"]), "")
		if p == wantP {
			f.Explain = append(f.Explain, name+" publishes the public key of "+k.Path)
			return OK
		}
		if p == "" {
			f.Explain = append(f.Explain, name+" publishes an empty p=: the key is revoked")
		}
	}
	f.Explain = append(f.Explain, name+" publishes a different key than "+k.Path+": every signature made with it fails")
	f.Publish = append(f.Publish, txt(name, want))
	return Wrong
}

// worst keeps the worse of f's status and s.
func worst(f *Finding, s Status) {
	rank := map[Status]int{OK: 0, Warn: 1, Error: 2, Wrong: 3, Missing: 4}
	if rank[s] > rank[f.Status] {
		f.Status = s
	}
}
