package senderdns_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/dkim"
	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mtasts"
	"github.com/sealgate/sealgate/mtasts/ststest"
	"github.com/sealgate/sealgate/senderdns"
)

var gatewayIP = netip.MustParseAddr("192.0.2.10")

type fixture struct {
	dns *dnstest.Server
	res *dnsclient.Resolver
	req senderdns.Request
	key senderdns.DKIMKey
}

// newFixture serves nothing yet for clinic.test; the gateway sends from
// 192.0.2.10 with an Ed25519 key at s1._domainkey.clinic.test.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := dnstest.Start(t)
	res, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := senderdns.DKIMKey{Domain: "clinic.test", Selector: "s1", Public: pub, Path: "clinic.pem"}
	return &fixture{dns: srv, res: res, key: key, req: senderdns.Request{Domain: "clinic.test",
		IPs: []netip.Addr{gatewayIP}, Keys: []senderdns.DKIMKey{key}, FromDomains: []string{"clinic.test"}}}
}

func (f *fixture) find(t *testing.T, check string) senderdns.Finding {
	t.Helper()
	for _, fd := range senderdns.Check(context.Background(), f.res, f.req) {
		if fd.Check == check {
			return fd
		}
	}
	t.Fatalf("no %s finding", check)
	return senderdns.Finding{}
}

func expect(t *testing.T, fd senderdns.Finding, status senderdns.Status, texts ...string) {
	t.Helper()
	all := strings.Join(append(append(fd.Explain, fd.Publish...), fd.Found...), "\n")
	if fd.Status != status {
		t.Fatalf("%s: status %s, want %s\n%s", fd.Check, fd.Status, status, all)
	}
	for _, s := range texts {
		if !strings.Contains(all, s) {
			t.Errorf("%s: %q missing from\n%s", fd.Check, s, all)
		}
	}
}

func TestSPF(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		records []string
		status  senderdns.Status
		texts   []string
	}{
		{"missing", nil, senderdns.Missing, []string{`clinic.test. IN TXT "v=spf1 ip4:192.0.2.10 -all"`}},
		{"ip4 range via include", []string{`clinic.test. IN TXT "v=spf1 include:_spf.clinic.test -all"`,
			`_spf.clinic.test. IN TXT "v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.0/25 -all"`},
			senderdns.OK, []string{"192.0.2.10: pass (1 of 10"}},
		{"a with prefix", []string{`clinic.test. IN TXT "v=spf1 a:out.clinic.test/28 -all"`, "out.clinic.test. IN A 192.0.2.1"},
			senderdns.OK, []string{"pass"}},
		{"mx", []string{`clinic.test. IN TXT "v=spf1 mx ~all"`, "clinic.test. IN MX 10 mx1.clinic.test.",
			"mx1.clinic.test. IN A 192.0.2.10"}, senderdns.OK, []string{"pass (1 of 10"}},
		{"redirect", []string{`clinic.test. IN TXT "v=spf1 redirect=spf.provider.test"`,
			`spf.provider.test. IN TXT "v=spf1 ip4:192.0.2.10 -all"`}, senderdns.OK, []string{"pass"}},
		{"not authorised", []string{`clinic.test. IN TXT "v=spf1 ip4:198.51.100.7 ~all"`}, senderdns.Wrong,
			[]string{"192.0.2.10: softfail", `"v=spf1 ip4:198.51.100.7 ip4:192.0.2.10 ~all"`}},
		{"two records", []string{`clinic.test. IN TXT "v=spf1 -all"`, `clinic.test. IN TXT "v=spf1 ip4:192.0.2.10 -all"`},
			senderdns.Wrong, []string{"2 SPF records"}},
		{"include without record", []string{`clinic.test. IN TXT "v=spf1 include:gone.test ip4:192.0.2.10 -all"`},
			senderdns.Wrong, []string{"permerror", "include:gone.test has no SPF record"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if len(c.records) > 0 {
				f.dns.Add(t, c.records...)
			}
			expect(t, f.find(t, "SPF"), c.status, c.texts...)
		})
	}
}

// TestSPFLookupLimit: eleven includes in a chain exceed RFC 7208's ten
// DNS-querying terms even though the last one would authorise the gateway.
func TestSPFLookupLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.dns.Add(t, `clinic.test. IN TXT "v=spf1 include:i1.test -all"`)
	for i := 1; i <= 10; i++ {
		f.dns.Add(t, fmt.Sprintf(`i%d.test. IN TXT "v=spf1 include:i%d.test -all"`, i, i+1))
	}
	f.dns.Add(t, `i11.test. IN TXT "v=spf1 ip4:192.0.2.10 -all"`)
	expect(t, f.find(t, "SPF"), senderdns.Wrong, "permerror", "more than 10 DNS-querying terms")

	g := newFixture(t) // ten are allowed
	g.dns.Add(t, `clinic.test. IN TXT "v=spf1 include:i2.test -all"`)
	for i := 2; i <= 10; i++ {
		g.dns.Add(t, fmt.Sprintf(`i%d.test. IN TXT "v=spf1 include:i%d.test -all"`, i, i+1))
	}
	g.dns.Add(t, `i11.test. IN TXT "v=spf1 ip4:192.0.2.10 -all"`)
	expect(t, g.find(t, "SPF"), senderdns.OK, "pass (10 of 10")
}

func TestDKIM(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	want, err := dkim.RecordValue(f.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, f.find(t, "DKIM"), senderdns.Missing, `s1._domainkey.clinic.test. IN TXT "`+want+`"`)

	other, _, _ := ed25519.GenerateKey(rand.Reader)
	wrong, _ := dkim.RecordValue(other)
	f.dns.Set(t, `s1._domainkey.clinic.test. IN TXT "`+wrong+`"`)
	expect(t, f.find(t, "DKIM"), senderdns.Wrong, "publishes a different key than clinic.pem", want)

	f.dns.Set(t, `s1._domainkey.clinic.test. IN TXT "`+want+`"`)
	expect(t, f.find(t, "DKIM"), senderdns.OK, "publishes the public key of clinic.pem")

	f.req.Keys = nil
	expect(t, f.find(t, "DKIM"), senderdns.Missing, "sealgate dkim keygen --domain clinic.test")
}

func TestDMARC(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	expect(t, f.find(t, "DMARC"), senderdns.Missing, `_dmarc.clinic.test. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@clinic.test`)

	f.dns.Set(t, `_dmarc.clinic.test. IN TXT "v=DMARC1; p=maybe"`)
	expect(t, f.find(t, "DMARC"), senderdns.Wrong, `policy "maybe"`)

	f.dns.Set(t, `_dmarc.clinic.test. IN TXT "v=DMARC1; p=none; rua=mailto:d@clinic.test"`)
	expect(t, f.find(t, "DMARC"), senderdns.Warn, "monitoring only", "From clinic.test: signed d=clinic.test, aligned (relaxed)")

	f.dns.Set(t, `_dmarc.clinic.test. IN TXT "v=DMARC1; p=reject; adkim=s; rua=mailto:d@clinic.test"`)
	expect(t, f.find(t, "DMARC"), senderdns.OK, "policy reject", "aligned (strict)")

	// A From subdomain signed with the parent's key is not aligned under
	// adkim=s, and is under relaxed.
	f.req.FromDomains = []string{"news.clinic.test", "other.test"}
	expect(t, f.find(t, "DMARC"), senderdns.Wrong, "From news.clinic.test: signed d=clinic.test, not aligned (strict alignment)")
	f.dns.Set(t, `_dmarc.clinic.test. IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@clinic.test"`)
	expect(t, f.find(t, "DMARC"), senderdns.OK, "From news.clinic.test: signed d=clinic.test, aligned (relaxed)")

	// No key at all for the From domain.
	f.req.Keys = nil
	expect(t, f.find(t, "DMARC"), senderdns.Wrong, "no DKIM key signs it")
}

// TestDMARCInherited: a subdomain without its own record falls under the
// organisational domain's sp=.
func TestDMARCInherited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.dns.Add(t, `_dmarc.example.org. IN TXT "v=DMARC1; p=none; sp=reject; rua=mailto:d@example.org"`)
	f.req.Domain, f.req.FromDomains = "news.example.org", nil
	expect(t, f.find(t, "DMARC"), senderdns.OK, "_dmarc.example.org: v=DMARC1", "policy reject")
}

func TestTLSRPT(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	expect(t, f.find(t, "TLS-RPT"), senderdns.Missing, `_smtp._tls.clinic.test. IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@clinic.test"`)
	f.dns.Set(t, `_smtp._tls.clinic.test. IN TXT "v=TLSRPTv1; rua=ftp://x.test"`)
	expect(t, f.find(t, "TLS-RPT"), senderdns.Wrong, "no single v=TLSRPTv1 record")
	f.dns.Set(t, `_smtp._tls.clinic.test. IN TXT "v=TLSRPTv1; rua=mailto:tls@clinic.test"`)
	expect(t, f.find(t, "TLS-RPT"), senderdns.OK, "reports go to mailto:tls@clinic.test")
}

// TestMTASTS fetches real policies over HTTPS from a loopback policy host.
func TestMTASTS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.dns.Add(t, "clinic.test. IN MX 10 mx1.clinic.test.")
	expect(t, f.find(t, "MTA-STS"), senderdns.Missing, `_mta-sts.clinic.test. IN TXT "v=STSv1; id=`,
		"https://mta-sts.clinic.test/.well-known/mta-sts.txt", "mx: mx1.clinic.test")

	ca := smtpsink.NewTestCA(t)
	ip := dnstest.IP(t)
	host := ststest.Start(t, ip, ca.Leaf(t, "mta-sts.clinic.test"), "version: STSv1\nmode: enforce\nmx: mx9.elsewhere.test\nmax_age: 86400\n")
	f.dns.Add(t, "mta-sts.clinic.test. IN A "+ip)
	f.dns.Set(t, `_mta-sts.clinic.test. IN TXT "v=STSv1; id=1"`)
	newCache := func() {
		c, err := mtasts.NewCache(mtasts.Config{Resolver: f.res, RootCAs: ca.Pool(), RecheckInterval: -1, Port: host.Port()})
		if err != nil {
			t.Fatal(err)
		}
		f.req.Policies = c
	}
	newCache()
	expect(t, f.find(t, "MTA-STS"), senderdns.Wrong, "MX mx1.clinic.test is not named by the policy")

	host.SetPolicy("version: STSv1\nmode: enforce\nmx: *.clinic.test\nmax_age: 86400\n", "")
	f.dns.Set(t, `_mta-sts.clinic.test. IN TXT "v=STSv1; id=2"`)
	newCache()
	expect(t, f.find(t, "MTA-STS"), senderdns.OK, "policy mode enforce, mx *.clinic.test")

	f.dns.Set(t, `_mta-sts.clinic.test. IN TXT "v=STSv1; id=3"`)
	host.SetPolicy("not a policy", "")
	newCache()
	expect(t, f.find(t, "MTA-STS"), senderdns.Wrong, "cannot be used")
}

// TestRDNS: a missing PTR, a PTR whose name does not resolve back, and
// forward-confirmed reverse DNS.
func TestRDNS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	expect(t, f.find(t, "rDNS"), senderdns.Missing, "192.0.2.10 has no PTR record")
	f.dns.Add(t, "10.2.0.192.in-addr.arpa. IN PTR gw.clinic.test.")
	expect(t, f.find(t, "rDNS"), senderdns.Wrong, "does not resolve back", "gw.clinic.test. IN A 192.0.2.10")
	f.dns.Add(t, "gw.clinic.test. IN A 192.0.2.10")
	expect(t, f.find(t, "rDNS"), senderdns.OK, "reverse name gw.clinic.test resolves back to it")
}

// TestBounces: the VERP bounce domain needs an SPF record that authorises
// the gateway and an MX; one outside the sending domain's organisational
// domain cannot align SPF for DMARC.
func TestBounces(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.req.BounceDomain, f.req.BounceHost = "bounce.clinic.test", "gw.clinic.test"
	expect(t, f.find(t, "Bounces"), senderdns.Missing, "aligns for DMARC", "bounce.clinic.test has no MX",
		`bounce.clinic.test. IN TXT "v=spf1 ip4:192.0.2.10 -all"`, "bounce.clinic.test. IN MX 10 gw.clinic.test.")
	f.dns.Add(t, "bounce.clinic.test. IN MX 10 gw.clinic.test.", `bounce.clinic.test. IN TXT "v=spf1 ip4:198.51.100.7 -all"`)
	expect(t, f.find(t, "Bounces"), senderdns.Wrong, "SPF of bounce.clinic.test: 192.0.2.10: fail", "MX: gw.clinic.test")
	g := newFixture(t)
	g.req.BounceDomain = "bounces.esp.test"
	g.dns.Add(t, "bounces.esp.test. IN MX 10 gw.clinic.test.", `bounces.esp.test. IN TXT "v=spf1 ip4:192.0.2.10 -all"`)
	expect(t, g.find(t, "Bounces"), senderdns.Warn, "cannot align for DMARC", "use a subdomain such as bounce.clinic.test")
	h := newFixture(t)
	h.req.BounceDomain = "bounce.clinic.test"
	h.dns.Add(t, "bounce.clinic.test. IN MX 10 gw.clinic.test.", `bounce.clinic.test. IN TXT "v=spf1 ip4:192.0.2.10 -all"`)
	expect(t, h.find(t, "Bounces"), senderdns.OK, "192.0.2.10: pass")
	if fs := senderdns.Check(context.Background(), h.res, senderdns.Request{Domain: "clinic.test"}); len(fs) != 6 {
		t.Errorf("without a bounce domain: %d findings, want 6", len(fs))
	}
}
