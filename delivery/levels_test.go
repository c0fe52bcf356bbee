package delivery

import (
	"crypto/tls"
	"testing"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/tlsrpt"
)

// sinkKinds are the receivers every policy level is tried against.
var sinkKinds = []string{"good", "self-signed", "expired", "wrong-name", "no-starttls"}

// sinkTLS is the server TLS config of a kind of sink for host (nil: no
// STARTTLS).
func sinkTLS(t *testing.T, w *world, kind, host string) *tls.Config {
	switch kind {
	case "good":
		return smtpsink.ServerTLS(w.ca.Leaf(t, host))
	case "self-signed":
		return smtpsink.ServerTLS(smtpsink.SelfSigned(t, host))
	case "expired":
		return smtpsink.ServerTLS(w.ca.Expired(t, host))
	case "wrong-name":
		return smtpsink.ServerTLS(w.ca.Leaf(t, "other.test"))
	}
	return nil
}

// Each policy level against each sink, with no MTA-STS and no DANE
// records: what is delivered, and whether the peer counts as verified.
func TestPolicyLevelsAgainstSinks(t *testing.T) {
	t.Parallel()
	type want struct{ deliver, verified bool }
	all := func(ok bool) map[string]want {
		m := map[string]want{}
		for _, k := range sinkKinds {
			m[k] = want{deliver: ok}
		}
		return m
	}
	may := all(true)
	may["good"] = want{true, true}
	encrypt := all(true)
	encrypt["good"] = want{true, true}
	encrypt["no-starttls"] = want{}
	verify := all(false)
	verify["good"] = want{true, true}
	cases := map[string]map[string]want{
		"none": all(true), // plaintext, STARTTLS never tried
		"may":  may, "encrypt": encrypt, "verify": verify,
		"dane":      may,        // no TLSA: opportunistic DANE is may (RFC 7672 §2.2)
		"dane-only": all(false), // no TLSA: never delivered
	}
	for level, wants := range cases {
		for _, kind := range sinkKinds {
			t.Run(level+"/"+kind, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, true, true)
				host := "mx1.partner.test"
				_, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, kind, host)})
				c := w.client(Config{TLSPolicyNames: map[string]string{"default": "none", "partner.test": level}})
				out := deliver(t, c, newDelivery("b@partner.test"))
				wt := wants[kind]
				if got := out[0].Err == nil; got != wt.deliver {
					t.Fatalf("delivered=%v, want %v (%v)", got, wt.deliver, out[0].Err)
				}
				if !wt.deliver {
					if e := wantFail(t, out[0], false, ""); !e.TLSFailure() {
						t.Errorf("refusal is not a TLS failure: %v", e)
					}
					if sink.Count() != 0 {
						t.Errorf("sink got %d messages", sink.Count())
					}
					return
				}
				if out[0].Verified != wt.verified || sink.Count() != 1 {
					t.Errorf("verified=%v want %v; sink count %d", out[0].Verified, wt.verified, sink.Count())
				}
				if tlsWanted := kind != "no-starttls" && level != "none"; (out[0].TLSVersion != "") != tlsWanted {
					t.Errorf("TLS version %q", out[0].TLSVersion)
				}
			})
		}
	}
}

// A message whose only protection is verified TLS (the encryptor asks
// TLSVerify) never reaches a sink that fails verification, whatever the
// domain's own policy says.
func TestVerifiedTLSOnlyNeverReachesBadSink(t *testing.T) {
	t.Parallel()
	for _, kind := range sinkKinds[1:] {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, false, false)
			_, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, kind, "mx1.partner.test")})
			c := w.client(Config{TLSPolicyNames: map[string]string{"default": "may"}})
			d := newDelivery("patient@partner.test")
			d.TLS = mail.TLSVerify
			wantFail(t, deliver(t, c, d)[0], false, "")
			if sink.Count() != 0 {
				t.Fatalf("PHI reached an unverified sink")
			}
		})
	}
}

func TestParseTLSPolicy(t *testing.T) {
	t.Parallel()
	for i, n := range []string{"none", "may", "encrypt", "verify", "dane", "DANE-only"} {
		p, err := ParseTLSPolicy(n)
		if err != nil || int(p) != i {
			t.Errorf("%q: %v %v", n, p, err)
		}
	}
	if _, err := ParseTLSPolicy("strict"); err == nil {
		t.Error("unknown policy accepted")
	}
	if PolicyDANEOnly.String() != "dane-only" {
		t.Error(PolicyDANEOnly.String())
	}
	if _, err := New(Config{Hostname: "gw.test", TLSPolicyNames: map[string]string{"x.test": "bogus"}}); err == nil {
		t.Error("New accepted an unknown policy name")
	}
}

// "*.domain" covers subdomains; the strictest of TLSPolicy and
// TLSPolicyNames wins; "default" replaces DefaultTLS.
func TestPolicyLookup(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, Config{
		TLSPolicy:      map[string]mail.TLSLevel{"a.test": mail.TLSVerify, "b.test": mail.TLSMay},
		TLSPolicyNames: map[string]string{"default": "encrypt", "a.test": "may", "b.test": "dane", "*.hospital.test": "dane-only"},
	})
	for dom, want := range map[string]TLSPolicy{
		"a.test": PolicyVerify, "b.test": PolicyDANE, "x.hospital.test": PolicyDANEOnly,
		"y.x.hospital.test": PolicyDANEOnly, "hospital.test": PolicyEncrypt, "other.test": PolicyEncrypt,
	} {
		if got := c.policyFor(dom); got != want {
			t.Errorf("%s: %v, want %v", dom, got, want)
		}
	}
}

// Opportunistic sessions are reported as no-policy-found results.
func TestNoPolicyResultsRecorded(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false, false)
	w.mx(10, smtpsink.Options{})
	c := w.client(Config{})
	wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	if !w.rec.has(tlsrpt.PolicyNotFound, tlsrpt.ResultSTARTTLSNotSupported) {
		t.Errorf("results %+v", w.rec.all)
	}
}
