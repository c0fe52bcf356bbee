package dnsclient

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// LookupMX returns the MX records of domain, like net.Resolver.LookupMX.
func (r *Resolver) LookupMX(ctx context.Context, domain string) ([]*net.MX, error) {
	mx, _, err := r.LookupMXSecure(ctx, domain)
	return mx, err
}

// LookupMXSecure returns the MX records of domain and whether the answer
// was DNSSEC-authentic (RFC 7672 §2.2.1).
func (r *Resolver) LookupMXSecure(ctx context.Context, domain string) ([]*net.MX, bool, error) {
	ans, err := r.Query(ctx, domain, dns.TypeMX)
	if ans == nil {
		return nil, false, err
	}
	out := make([]*net.MX, 0, len(ans.Records))
	for _, rr := range ans.Records {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
		}
	}
	return out, ans.Authentic, err
}

// LookupHost returns the IPv4 and IPv6 addresses of host, like
// net.Resolver.LookupHost.
func (r *Resolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	ips, _, err := r.LookupHostSecure(ctx, host)
	if len(ips) > 0 {
		return ips, nil
	}
	return nil, err
}

// LookupHostSecure returns the A and AAAA addresses of host and whether
// both answers were authentic (RFC 7672 §2.2.2). It fails when neither
// query gave addresses, and also when one query failed (SERVFAIL, timeout)
// while the other was answered under DNSSEC: whether such a host is
// secure cannot be told, and taking it for insecure would let a failing
// AAAA answer switch DANE off. The addresses found are returned with
// that error. LookupHost, which needs no verdict, uses them.
func (r *Resolver) LookupHostSecure(ctx context.Context, host string) ([]string, bool, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []string{host}, false, nil
	}
	var ips []string
	secure, signed := true, false
	var firstErr error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		ans, err := r.Query(ctx, host, qt)
		if ans == nil {
			secure = false
		} else {
			secure = secure && ans.Authentic
			signed = signed || ans.Authentic
			ips = append(ips, addrs(ans.Records)...)
		}
		if err != nil && firstErr == nil && !isNotFound(err) {
			firstErr = err
		}
	}
	if len(ips) > 0 {
		if firstErr != nil && signed {
			return ips, false, firstErr
		}
		return ips, secure, nil
	}
	if firstErr == nil {
		firstErr = &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return nil, false, firstErr
}

func addrs(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		}
	}
	return out
}

// LookupTXT returns the TXT records of name, each one string made of its
// character-strings joined without separator (RFC 7208 §3.3 style, as
// MTA-STS and TLS-RPT records expect).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ans, err := r.Query(ctx, name, dns.TypeTXT)
	if ans == nil || err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ans.Records))
	for _, rr := range ans.Records {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out, nil
}

// LookupTLSA returns the TLSA records for the TCP service port of host
// (RFC 6698 §3: _port._tcp.host) and whether the answer, or the denial,
// was authentic.
func (r *Resolver) LookupTLSA(ctx context.Context, port int, host string) ([]*dns.TLSA, bool, error) {
	name := "_" + strconv.Itoa(port) + "._tcp." + strings.TrimSuffix(host, ".")
	ans, err := r.Query(ctx, name, dns.TypeTLSA)
	if ans == nil {
		return nil, false, err
	}
	return tlsaRecords(ans), ans.Authentic, err
}

// tlsaRecords are an answer's TLSA records.
func tlsaRecords(ans *Answer) []*dns.TLSA {
	out := make([]*dns.TLSA, 0, len(ans.Records))
	for _, rr := range ans.Records {
		if t, ok := rr.(*dns.TLSA); ok {
			out = append(out, t)
		}
	}
	return out
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
