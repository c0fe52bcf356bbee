package delivery

import (
	"context"
	"testing"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mtasts"
	"github.com/sealgate/sealgate/mtasts/ststest"
	"github.com/sealgate/sealgate/tlsrpt"
)

// stsPolicy publishes partner.test's MTA-STS policy over HTTPS on a free
// port of the test's own address and returns a cache that reads it there.
func (w *world) stsPolicy(mode, mx string) *mtasts.Cache {
	w.t.Helper()
	ip := mxIP(w.t, 200)
	w.dns.Add(w.t, "mta-sts.partner.test. 60 IN A "+ip, `_mta-sts.partner.test. 60 IN TXT "v=STSv1; id=1"`)
	host := ststest.Start(w.t, ip, w.ca.Leaf(w.t, "mta-sts.partner.test"),
		"version: STSv1\nmode: "+mode+"\nmx: "+mx+"\nmax_age: 86400\n")
	c, err := mtasts.NewCache(mtasts.Config{Dir: w.t.TempDir(), Resolver: w.res, RootCAs: w.ca.Pool(), Port: host.Port()})
	if err != nil {
		w.t.Fatal(err)
	}
	c.Start(context.Background())
	w.t.Cleanup(func() { _ = c.Close() })
	return c
}

// MTA-STS enforce against each kind of sink: only a PKIX-valid certificate
// for a matching MX is delivered to; testing delivers as the configured
// level (may) allows and reports the failure.
func TestMTASTSEnforceAndTesting(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"enforce", "testing"} {
		for _, kind := range sinkKinds {
			t.Run(mode+"/"+kind, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, false, false)
				_, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, kind, "mx1.partner.test")})
				c := w.client(Config{MTASTS: w.stsPolicy(mode, "*.partner.test")})
				out := deliver(t, c, newDelivery("b@partner.test"))
				deliver := mode == "testing" || kind == "good"
				if (out[0].Err == nil) != deliver || sink.Count() != map[bool]int{true: 1}[deliver] {
					t.Fatalf("err %v, sink %d; want delivered=%v", out[0].Err, sink.Count(), deliver)
				}
				if out[0].Verified != (kind == "good") {
					t.Errorf("verified=%v", out[0].Verified)
				}
				want := tlsrpt.ResultSuccess
				switch kind {
				case "self-signed":
					want = tlsrpt.ResultCertNotTrusted
				case "expired":
					want = tlsrpt.ResultCertExpired
				case "wrong-name":
					want = tlsrpt.ResultCertHostMismatch
				case "no-starttls":
					want = tlsrpt.ResultSTARTTLSNotSupported
				}
				if !w.rec.has(tlsrpt.PolicySTS, want) {
					t.Errorf("no sts/%s result in %+v", want, w.rec.all)
				}
			})
		}
	}
}

// In enforce mode an MX that does not match the policy is never used; the
// matching one is.
func TestMTASTSEnforceSkipsUnlistedMX(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false, false)
	_, rogue := w.mx(5, smtpsink.Options{TLS: sinkTLS(t, w, "good", "mx1.partner.test")})
	_, listed := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, "good", "mx2.partner.test")})
	c := w.client(Config{MTASTS: w.stsPolicy("enforce", "mx2.partner.test")})
	wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	if rogue.Count() != 0 || listed.Count() != 1 {
		t.Errorf("rogue %d, listed %d", rogue.Count(), listed.Count())
	}
	if !w.rec.has(tlsrpt.PolicySTS, tlsrpt.ResultValidationFailure) {
		t.Errorf("mismatch not reported: %+v", w.rec.all)
	}
}

// No MX matches: deferred, nothing sent; with REQUIRETLS, bounced.
func TestMTASTSNoMatchingMX(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false, false)
	_, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, "good", "mx1.partner.test"), RequireTLS: true})
	c := w.client(Config{MTASTS: w.stsPolicy("enforce", "mail.partner.test")})
	wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], false, "4.7.5")
	d := newDelivery("b@partner.test")
	d.RequireTLS = true
	wantFail(t, deliver(t, c, d)[0], true, "5.7.30")
	if sink.Count() != 0 {
		t.Errorf("sink got %d", sink.Count())
	}
}

// REQUIRETLS over an MTA-STS-enforced, verified session is delivered.
func TestMTASTSWithRequireTLS(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false, false)
	_, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, "good", "mx1.partner.test"), RequireTLS: true})
	c := w.client(Config{MTASTS: w.stsPolicy("enforce", "mx1.partner.test")})
	d := newDelivery("b@partner.test")
	d.RequireTLS = true
	wantOK(t, deliver(t, c, d))
	if m := sink.Messages(); len(m) != 1 || !m[0].MailOpts.RequireTLS {
		t.Errorf("sink got %+v", m)
	}
}

// A PHI message (TLSVerify) under a testing policy with a bad certificate
// is not delivered.
func TestMTASTSTestingKeepsPHIFromBadSink(t *testing.T) {
	t.Parallel()
	w2 := newWorld(t, false, false)
	_, bad := w2.mx(10, smtpsink.Options{TLS: sinkTLS(t, w2, "self-signed", "mx1.partner.test")})
	c2 := w2.client(Config{MTASTS: w2.stsPolicy("testing", "mx1.partner.test")})
	phi := newDelivery("patient@partner.test")
	phi.TLS = mail.TLSVerify
	wantFail(t, deliver(t, c2, phi)[0], false, "4.7.5")
	if bad.Count() != 0 {
		t.Error("PHI reached a sink that failed verification")
	}
}

// A policy that cannot be fetched is reported and delivery goes on as if
// there were none (RFC 8461 §5).
func TestMTASTSFetchFailureReported(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false, false)
	_, sink := w.mx(10, smtpsink.Options{})
	ip := mxIP(t, 200)
	w.dns.Add(t, "mta-sts.partner.test. 60 IN A "+ip, `_mta-sts.partner.test. 60 IN TXT "v=STSv1; id=1"`)
	host := ststest.Start(t, ip, smtpsink.SelfSigned(t, "mta-sts.partner.test"), "version: STSv1\nmode: enforce\nmx: x.test\nmax_age: 60\n")
	cache, err := mtasts.NewCache(mtasts.Config{Resolver: w.res, RootCAs: w.ca.Pool(), Port: host.Port()})
	if err != nil {
		t.Fatal(err)
	}
	c := w.client(Config{MTASTS: cache})
	wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	if sink.Count() != 1 || !w.rec.has(tlsrpt.PolicySTS, tlsrpt.ResultSTSWebPKIError) {
		t.Errorf("sink %d, results %+v", sink.Count(), w.rec.all)
	}
}

// "TLS-Required: No" waives MTA-STS only when the operator allows it, and
// never the delivery's own level; only a field of a header that reads
// waives it, never a line of the body behind a header that does not.
func TestTLSRequiredNo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		honor, verify bool
		deliver       bool
		prefix        string // put before the test message
	}{
		{"not honoured", false, false, false, "TLS-Required: No\r\n"},
		{"honoured", true, false, true, "TLS-Required: No\r\n"},
		{"honoured but PHI", true, true, false, "TLS-Required: No\r\n"},
		{"in the body of an unreadable header", true, false, false, "X-Note: a\r\nnot a field\r\n\r\nTLS-Required: No\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, false, false)
			_, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, "self-signed", "mx1.partner.test")})
			c := w.client(Config{MTASTS: w.stsPolicy("enforce", "*.partner.test"), HonorTLSRequiredNo: tc.honor})
			d := newDelivery("b@partner.test")
			d.Body = append([]byte(tc.prefix), d.Body...)
			if tc.verify {
				d.TLS = mail.TLSVerify
			}
			out := deliver(t, c, d)
			if (out[0].Err == nil) != tc.deliver || sink.Count() != map[bool]int{true: 1}[tc.deliver] {
				t.Errorf("err %v, sink %d", out[0].Err, sink.Count())
			}
		})
	}
}
