package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/dkim"
	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/mtasts"
	"github.com/sealgate/sealgate/senderdns"
)

// cmdDNSCheck is `sealgate dns check --domain D [--ip A,B]`: it looks up
// the sending domain's SPF, DKIM, DMARC, MTA-STS and TLS-RPT and the
// gateway's reverse DNS with the configured resolver (delivery.dns),
// explains each and prints the records to publish. Exit 0 when nothing
// needs action, 1 otherwise.
func cmdDNSCheck(inv *invocation, io stdio) int { return dnsCheck(inv, io, dnsCheckOptions{}) }

// dnsCheckOptions are what a test can change in `sealgate dns check`
// that the command line does not offer.
type dnsCheckOptions struct {
	// mtastsPort is the HTTPS port of MTA-STS policy hosts; "" is 443
	// (mtasts.Config.Port), which a test on loopback cannot bind as an
	// ordinary user.
	mtastsPort string
}

// dnsCheck is cmdDNSCheck with opts.
func dnsCheck(inv *invocation, io stdio, opts dnsCheckOptions) int {
	domain := strings.TrimSpace(inv.flag("domain"))
	if domain == "" {
		fmt.Fprintf(io.err, "sealgate: dns check needs --domain\nusage: %s\n", inv.cmd.usageLine())
		return 2
	}
	cfg, src, err := commandConfig(inv)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, res, err := dnsCheckRequest(ctx, cfg, domain, inv.flag("ip"), opts)
	if err != nil {
		return io.fail("dns check: %v (config: %s)", err, src)
	}
	findings := senderdns.Check(ctx, res, req)
	if inv.on("json") {
		_ = printJSON(io.out, findings)
	} else {
		printFindings(io.out, domain, req.IPs, findings)
	}
	for _, f := range findings {
		if f.Failed() {
			return 1
		}
	}
	return 0
}

// dnsCheckRequest builds the check from the config: its resolver, DKIM
// keys, the From domains its clients may use, and the gateway's addresses
// (--ip, or the addresses hostname resolves to).
func dnsCheckRequest(ctx context.Context, cfg *config.Config, domain, ips string, opts dnsCheckOptions) (senderdns.Request, *dnsclient.Resolver, error) {
	req := senderdns.Request{Domain: domain, FromDomains: fromDomains(cfg), BounceDomain: cfg.Bounces.Domain, BounceHost: cfg.Hostname}
	res, err := dnsclient.New(dnsclient.Config{Servers: cfg.Delivery.DNS.Servers, Timeout: 10 * time.Second})
	if err != nil {
		return req, nil, err
	}
	for _, k := range cfg.DKIM {
		signer, err := dkim.LoadKey(k.Key)
		if err != nil {
			return req, nil, fmt.Errorf("dkim key %s: %w", k.Key, err)
		}
		req.Keys = append(req.Keys, senderdns.DKIMKey{Domain: k.Domain, Selector: k.Selector, Public: signer.Public(), Path: k.Key})
	}
	if req.IPs, err = gatewayIPs(ctx, res, cfg.Hostname, ips); err != nil {
		return req, nil, err
	}
	roots, err := rootCAs(cfg.Delivery.TLS.CAFile)
	if err != nil {
		return req, nil, err
	}
	cache, err := mtasts.NewCache(mtasts.Config{Resolver: res, RootCAs: roots, Timeout: 20 * time.Second, RecheckInterval: -1,
		Port: opts.mtastsPort})
	if err != nil {
		return req, nil, err
	}
	req.Policies = cache
	return req, res, nil
}

// gatewayIPs parses --ip (comma-separated) or resolves hostname.
func gatewayIPs(ctx context.Context, res *dnsclient.Resolver, hostname, flag string) ([]netip.Addr, error) {
	var out []netip.Addr
	if flag != "" {
		for _, s := range strings.Split(flag, ",") {
			a, err := netip.ParseAddr(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("--ip %q is not an address", s)
			}
			out = append(out, a.Unmap())
		}
		return out, nil
	}
	addrs, _ := res.LookupHost(ctx, hostname)
	for _, s := range addrs {
		if a, err := netip.ParseAddr(s); err == nil && !a.IsLoopback() {
			out = append(out, a.Unmap())
		}
	}
	return out, nil
}

// fromDomains are the domains of the clients' allowed_senders patterns.
func fromDomains(cfg *config.Config) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range cfg.Clients {
		for _, p := range c.AllowedSenders {
			_, d, ok := strings.Cut(p, "@")
			d = strings.ToLower(strings.TrimPrefix(d, "*."))
			if ok && d != "" && d != "*" && !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// printFindings writes the report for people.
func printFindings(w io.Writer, domain string, ips []netip.Addr, findings []senderdns.Finding) {
	var list []string
	for _, ip := range ips {
		list = append(list, ip.String())
	}
	if len(list) == 0 {
		list = []string{"unknown"}
	}
	fmt.Fprintf(w, "sender DNS for %s (gateway addresses: %s)\n", domain, strings.Join(list, ", "))
	for _, f := range findings {
		fmt.Fprintf(w, "\n%-8s %s\n", f.Check, strings.ToUpper(string(f.Status)))
		for _, r := range f.Found {
			fmt.Fprintf(w, "  found:   %s\n", r)
		}
		for _, e := range f.Explain {
			fmt.Fprintf(w, "  %s\n", e)
		}
		for _, p := range f.Publish {
			fmt.Fprintf(w, "  publish: %s\n", strings.ReplaceAll(p, "\n", "\n           "))
		}
	}
}
