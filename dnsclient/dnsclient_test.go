package dnsclient_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
)

func newResolver(t *testing.T, srv *dnstest.Server, trustAD bool) *dnsclient.Resolver {
	t.Helper()
	r, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, TrustAD: trustAD})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func zone(t *testing.T) *dnstest.Server {
	srv := dnstest.Start(t)
	srv.Add(t,
		"secure.test. 300 IN MX 10 mx.secure.test.",
		"mx.secure.test. 300 IN A 127.0.0.2",
		"_25._tcp.mx.secure.test. 300 IN TLSA 3 1 1 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
		"plain.test. 300 IN MX 10 mx.plain.test.",
		"mx.plain.test. 300 IN AAAA ::1",
		`_mta-sts.plain.test. 300 IN TXT "v=STSv1; " "id=20260101;"`,
	)
	srv.Secure("secure.test", true)
	return srv
}

func TestAuthenticOnlyWhenTrusted(t *testing.T) {
	t.Parallel()
	srv := zone(t)
	ctx := context.Background()
	for _, trust := range []bool{true, false} {
		r := newResolver(t, srv, trust)
		mx, sec, err := r.LookupMXSecure(ctx, "secure.test")
		if err != nil || len(mx) != 1 || mx[0].Host != "mx.secure.test." || mx[0].Pref != 10 {
			t.Fatalf("MX: %v %v", mx, err)
		}
		if sec != trust {
			t.Errorf("trust_ad=%v: MX authentic=%v", trust, sec)
		}
		tlsa, sec, err := r.LookupTLSA(ctx, 25, "mx.secure.test.")
		if err != nil || len(tlsa) != 1 || tlsa[0].Usage != 3 || sec != trust {
			t.Errorf("trust_ad=%v: TLSA %v authentic=%v err=%v", trust, tlsa, sec, err)
		}
	}
	r := newResolver(t, srv, true)
	if _, sec, err := r.LookupMXSecure(ctx, "plain.test"); err != nil || sec {
		t.Errorf("insecure zone: authentic=%v err=%v", sec, err)
	}
}

func TestNotFoundAndHosts(t *testing.T) {
	t.Parallel()
	srv := zone(t)
	r := newResolver(t, srv, true)
	ctx := context.Background()
	var de *net.DNSError
	if _, err := r.LookupMX(ctx, "missing.test"); !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("NXDOMAIN: %v", err)
	}
	_, sec, err := r.LookupTLSA(ctx, 25, "mx.plain.test")
	if !errors.As(err, &de) || !de.IsNotFound || sec {
		t.Errorf("no TLSA in insecure zone: authentic=%v err=%v", sec, err)
	}
	if ips, sec, err := r.LookupHostSecure(ctx, "mx.secure.test"); err != nil || len(ips) != 1 || ips[0] != "127.0.0.2" || !sec {
		t.Errorf("host: %v %v %v", ips, sec, err)
	}
	if ips, err := r.LookupHost(ctx, "mx.plain.test"); err != nil || len(ips) != 1 || ips[0] != "::1" {
		t.Errorf("AAAA host: %v %v", ips, err)
	}
	txt, err := r.LookupTXT(ctx, "_mta-sts.plain.test")
	if err != nil || len(txt) != 1 || txt[0] != "v=STSv1; id=20260101;" {
		t.Errorf("TXT %q %v", txt, err)
	}
}

func TestServFailIsTemporary(t *testing.T) {
	t.Parallel()
	srv := zone(t)
	srv.Fail("_25._tcp.mx.secure.test")
	r := newResolver(t, srv, true)
	_, _, err := r.LookupTLSA(context.Background(), 25, "mx.secure.test")
	var de *net.DNSError
	if !errors.As(err, &de) || de.IsNotFound || !de.IsTemporary || !errors.Is(err, dnsclient.ErrServFail) {
		t.Errorf("SERVFAIL: %v", err)
	}
}

func TestServerAddresses(t *testing.T) {
	t.Parallel()
	if _, err := dnsclient.New(dnsclient.Config{Servers: []string{"not an address"}}); err == nil {
		t.Error("bad server accepted")
	}
	if _, err := dnsclient.New(dnsclient.Config{Servers: []string{"127.0.0.1", "[::1]:53"}}); err != nil {
		t.Error(err)
	}
}

// An answer too large for UDP is truncated by the server and fetched
// again over TCP (RFC 7766 §5).
func TestTruncatedAnswerOverTCP(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	var lines []string
	for i := range 40 {
		lines = append(lines, "_25._tcp.mx.big.test. 300 IN TLSA 3 0 2 "+strings.Repeat(fmt.Sprintf("%02x", i), 64))
	}
	srv.Add(t, lines...)
	srv.Secure("big.test", true)
	r := newResolver(t, srv, true)
	recs, sec, err := r.LookupTLSA(context.Background(), 25, "mx.big.test")
	if err != nil || len(recs) != 40 || !sec {
		t.Errorf("%d records, authentic=%v, %v", len(recs), sec, err)
	}
}

// A signed host whose A answer is authentic but whose AAAA query fails
// cannot be called insecure (that would switch DANE off): the secure
// lookup fails, while a plain lookup still gives the IPv4 address. In an
// unsigned zone the same failure changes nothing.
func TestHostFamilyFailureInSignedZone(t *testing.T) {
	t.Parallel()
	srv := zone(t)
	srv.Add(t, "mx2.plain.test. 300 IN A 127.0.0.3")
	srv.FailType("mx.secure.test", dns.TypeAAAA)
	srv.FailType("mx2.plain.test", dns.TypeAAAA)
	r := newResolver(t, srv, true)
	ctx := context.Background()
	ips, sec, err := r.LookupHostSecure(ctx, "mx.secure.test")
	var de *net.DNSError
	if err == nil || sec || !errors.As(err, &de) || de.IsNotFound {
		t.Errorf("signed host with a failing AAAA query: ips=%v secure=%v err=%v, want a temporary failure", ips, sec, err)
	}
	if ips, err := r.LookupHost(ctx, "mx.secure.test"); err != nil || len(ips) != 1 || ips[0] != "127.0.0.2" {
		t.Errorf("plain lookup of that host: %v %v", ips, err)
	}
	if ips, sec, err := r.LookupHostSecure(ctx, "mx2.plain.test"); err != nil || sec || len(ips) != 1 {
		t.Errorf("unsigned host with a failing AAAA query: %v %v %v", ips, sec, err)
	}
}
