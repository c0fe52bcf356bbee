package delivery

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sealgate/sealgate/dane"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mtasts"
	"github.com/sealgate/sealgate/tlsrpt"
)

// otherKey is DANE-EE data that matches no sink.
func otherKey(t *testing.T) string { return spki256(t, smtpsink.SelfSigned(t, "x")) }

// DANE-EE(3) with a self-signed certificate: the TLSA match authenticates
// the peer, PKIX is not needed, even at the default level.
func TestDANEEEMatch(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"may", "verify", "dane", "dane-only"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, true, true)
			cert := smtpsink.SelfSigned(t, "mx1.partner.test")
			host, sink := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(cert)})
			w.tlsa(host, 3, 1, 1, spki256(t, cert))
			c := w.client(Config{DANE: true, TLSPolicyNames: map[string]string{"partner.test": policy}})
			out := deliver(t, c, newDelivery("b@partner.test"))
			wantOK(t, out)
			if !out[0].Verified || sink.Count() != 1 {
				t.Errorf("outcome %+v, sink %d", out[0], sink.Count())
			}
			if !w.rec.has(tlsrpt.PolicyTLSA, tlsrpt.ResultSuccess) {
				t.Errorf("results %+v", w.rec.all)
			}
		})
	}
}

// A TLSA mismatch is never delivered to, even with a PKIX-valid
// certificate and the default may level (RFC 7672 §2.2).
func TestDANEEEMismatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t, true, true)
	host, sink := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(w.ca.Leaf(t, "mx1.partner.test"))})
	w.tlsa(host, 3, 1, 1, otherKey(t))
	c := w.client(Config{DANE: true})
	e := wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], false, "4.7.5")
	if e.Command != CmdTLS || sink.Count() != 0 {
		t.Errorf("%v; sink %d", e, sink.Count())
	}
	if !w.rec.has(tlsrpt.PolicyTLSA, tlsrpt.ResultValidationFailure) {
		t.Errorf("results %+v", w.rec.all)
	}
}

// DANE-TA(2): the CA sent in the chain matches, and the leaf must chain to
// it for the MX name.
func TestDANETA(t *testing.T) {
	t.Parallel()
	for name, leafName := range map[string]string{"match": "mx1.partner.test", "wrong name": "other.test"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, true, true)
			host, sink := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(w.chainWithCA(leafName))})
			w.tlsa(host, 2, 0, 2, dane.Record(w.caCert(), dane.SelectorCert, dane.MatchSHA512))
			c := newTestClient(t, Config{Resolver: w.res, DANE: true, Port: w.port}) // PKIX roots do not know the CA
			out := deliver(t, c, newDelivery("b@partner.test"))
			if ok := leafName == "mx1.partner.test"; (out[0].Err == nil) != ok || sink.Count() != map[bool]int{true: 1}[ok] {
				t.Errorf("err %v, sink %d", out[0].Err, sink.Count())
			}
		})
	}
}

// Insecure answers (zone not signed, or AD not trusted) fall back to the
// configured level: a mismatching TLSA record is then ignored, except that
// dane-only refuses.
func TestDANEInsecureFallsBack(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		secure, trustAD bool
		policy          string
		deliver         bool
	}{
		{"unsigned zone", false, true, "dane", true},
		{"AD not trusted", true, false, "dane", true},
		{"unsigned zone dane-only", false, true, "dane-only", false},
		{"AD not trusted dane-only", true, false, "dane-only", false},
		// RFC 7672 §2.2.1: a signed MX host named by an unsigned MX answer
		// gets no DANE (an attacker could have chosen the host).
		{"MX answer unsigned", false, true, "dane", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tc.secure, tc.trustAD)
			if tc.name == "MX answer unsigned" {
				w.dns.Secure("mx1.partner.test", true)
			}
			host, sink := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(smtpsink.SelfSigned(t, "mx1.partner.test"))})
			w.tlsa(host, 3, 1, 1, otherKey(t))
			c := w.client(Config{DANE: true, TLSPolicyNames: map[string]string{"partner.test": tc.policy}})
			out := deliver(t, c, newDelivery("b@partner.test"))
			if (out[0].Err == nil) != tc.deliver || sink.Count() != map[bool]int{true: 1}[tc.deliver] {
				t.Errorf("err %v, sink %d", out[0].Err, sink.Count())
			}
			if tc.deliver && out[0].Verified {
				t.Error("an insecure TLSA answer authenticated the peer")
			}
		})
	}
}

// A TLSA lookup that fails for a signed host forbids that host (RFC 7672
// §2.2): the next MX is used instead.
func TestDANELookupFailureSkipsHost(t *testing.T) {
	t.Parallel()
	w := newWorld(t, true, true)
	bad, badSink := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(w.ca.Leaf(t, "mx1.partner.test"))})
	_, goodSink := w.mx(20, smtpsink.Options{TLS: smtpsink.ServerTLS(w.ca.Leaf(t, "mx2.partner.test"))})
	w.dns.Fail("_" + w.port + "._tcp." + bad)
	c := w.client(Config{DANE: true})
	wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	if badSink.Count() != 0 || goodSink.Count() != 1 {
		t.Errorf("sinks: %d %d", badSink.Count(), goodSink.Count())
	}
	if !w.rec.has(tlsrpt.PolicyTLSA, tlsrpt.ResultDNSSECInvalid) {
		t.Errorf("results %+v", w.rec.all)
	}
}

// Secure TLSA records that are all unusable (PKIX-EE) still require TLS,
// without authentication (RFC 7672 §2.2, §3.1.3).
func TestDANEUnusableRecordsRequireTLS(t *testing.T) {
	t.Parallel()
	w := newWorld(t, true, true)
	host, sink := w.mx(10, smtpsink.Options{})
	w.tlsa(host, 1, 1, 1, otherKey(t))
	c := w.client(Config{DANE: true})
	wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], false, "4.7.4")
	if sink.Count() != 0 || !w.rec.has(tlsrpt.PolicyTLSA, tlsrpt.ResultTLSAInvalid) {
		t.Errorf("sink %d, results %+v", sink.Count(), w.rec.all)
	}
}

// REQUIRETLS is satisfied by a DANE-authenticated peer that offers it, and
// bounces when the peer is not authenticated.
func TestRequireTLSWithDANE(t *testing.T) {
	t.Parallel()
	for _, match := range []bool{true, false} {
		t.Run(map[bool]string{true: "match", false: "no TLSA"}[match], func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, true, true)
			cert := smtpsink.SelfSigned(t, "mx1.partner.test")
			host, sink := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(cert), RequireTLS: true})
			if match {
				w.tlsa(host, 3, 1, 1, spki256(t, cert))
			}
			c := w.client(Config{DANE: true})
			d := newDelivery("b@partner.test")
			d.RequireTLS = true
			out := deliver(t, c, d)
			if !match {
				wantFail(t, out[0], true, "5.7.30")
				if sink.Count() != 0 {
					t.Error("REQUIRETLS message reached an unauthenticated sink")
				}
				return
			}
			wantOK(t, out)
			if m := sink.Messages(); len(m) != 1 || !m[0].MailOpts.RequireTLS {
				t.Errorf("sink got %+v", m)
			}
		})
	}
}

// DANE does not lower a level: TLSVerify asked by the delivery with a
// DANE-authenticated self-signed peer is satisfied (verified = PKIX or
// DANE).
func TestDANESatisfiesVerify(t *testing.T) {
	t.Parallel()
	w := newWorld(t, true, true)
	cert := smtpsink.SelfSigned(t, "mx1.partner.test")
	host, _ := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(cert)})
	w.tlsa(host, 3, 0, 1, dane.Record(leafOf(t, cert), dane.SelectorCert, dane.MatchSHA256))
	c := w.client(Config{DANE: true})
	d := newDelivery("b@partner.test")
	d.TLS = mail.TLSVerify
	out := deliver(t, c, d)
	wantOK(t, out)
	if !out[0].Verified {
		t.Error("not verified")
	}
}

// verifyPeer names the method that authenticated the peer.
func TestVerifyPeerMethod(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	cert := ca.Leaf(t, "mx.partner.test")
	chain := []*x509.Certificate{leafOf(t, cert)}
	c := newTestClient(t, Config{RootCAs: ca.Pool()})
	rec := &dns.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Certificate: spki256(t, cert)}
	sts := &mtasts.Policy{Mode: mtasts.ModeEnforce, MX: []string{"mx.partner.test"}}
	for want, h := range map[mail.Verification]hop{
		mail.VerifiedPKIX:   {host: "mx.partner.test"},
		mail.VerifiedMTASTS: {host: "mx.partner.test", tls: hopTLS{sts: sts}},
		mail.VerifiedDANE:   {host: "mx.partner.test", tls: hopTLS{tlsa: []*dns.TLSA{rec}}},
	} {
		if got, err := c.verifyPeer(h, chain); got != want || err != nil {
			t.Errorf("%s: got %q, %v", want, got, err)
		}
	}
	if _, err := c.verifyPeer(hop{host: "other.test"}, chain); err == nil {
		t.Error("wrong name verified")
	}
}

// NewVerified wires a Config the way the gateway does: DANE on with a
// trusted AD bit, MTA-STS and reports; a DANE-EE match then delivers.
func TestNewVerifiedWiring(t *testing.T) {
	t.Parallel()
	w := newWorld(t, true, true)
	cert := smtpsink.SelfSigned(t, "mx1.partner.test")
	host, sink := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(cert)})
	w.tlsa(host, 3, 1, 1, spki256(t, cert))
	v, err := NewVerified(VerifiedConfig{DNSServers: []string{w.dns.Addr}, TrustAD: true, RootCAs: w.ca.Pool(),
		MTASTSDir: t.TempDir(), Reports: true, ReportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	v.Start(context.Background())
	t.Cleanup(func() { _ = v.Close() })
	cfg := Config{Port: w.port}
	v.Apply(&cfg)
	if !cfg.DANE || cfg.MTASTS == nil || cfg.TLSReports == nil {
		t.Fatalf("config %+v", cfg)
	}
	c := newTestClient(t, cfg)
	out := deliver(t, c, newDelivery("b@partner.test"))
	wantOK(t, out)
	if !out[0].Verified || sink.Count() != 1 || len(v.Reports.Domains(time.Now())) != 1 {
		t.Errorf("outcome %+v, sink %d", out[0], sink.Count())
	}
}
