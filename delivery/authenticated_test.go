package delivery

import (
	"bytes"
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/encrypt"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/portal/box/boxtest"
)

// phiBody is a message the policy marked as PHI; phiMarker must never
// reach a next hop that is not authenticated.
const (
	phiMarker = "MRN 4417-2209 biopsy result"
	phiBody   = "From: lab@clinic.test\r\nTo: patient@partner.test\r\nSubject: result\r\n\r\n" + phiMarker + "\r\n"
)

// receiverCase is a receiver and the Verification when PHI may go there
// ("" when it may not).
type receiverCase struct {
	setup receiver
	auth  mail.Verification
}

// eachReceiver runs fn in a parallel subtest per receiver, with its world
// (DNSSEC-signed for DANE) and the client configuration it needs.
func eachReceiver(t *testing.T, fn func(t *testing.T, w *world, cfg Config, sink *smtpsink.Sink, r receiverCase)) {
	for name, r := range receivers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			secure := r.auth == mail.VerifiedDANE
			w := newWorld(t, secure, secure)
			cfg, sink := r.setup(t, w)
			fn(t, w, cfg, sink, r)
		})
	}
}

// receiver is one way partner.test can look from outside, set up in w:
// the client configuration it needs and the sink that receives.
type receiver func(t *testing.T, w *world) (Config, *smtpsink.Sink)

// The four receivers of the verified-transport scenario: (a) a DANE-EE
// match under a DNSSEC-signed zone, (b) an MX listed by an enforced
// MTA-STS policy with a CA-signed certificate, (c) a CA-signed certificate
// valid for an MX name from unsigned DNS and no MTA-STS, (d) a
// self-signed certificate.
var receivers = map[string]receiverCase{
	"dane": {func(t *testing.T, w *world) (Config, *smtpsink.Sink) {
		cert := smtpsink.SelfSigned(t, "mx1.partner.test")
		host, sink := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(cert)})
		w.tlsa(host, 3, 1, 1, spki256(t, cert))
		return Config{DANE: true}, sink
	}, mail.VerifiedDANE},
	"mta-sts": {func(t *testing.T, w *world) (Config, *smtpsink.Sink) {
		_, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, "good", "mx1.partner.test")})
		return Config{MTASTS: w.stsPolicy("enforce", "mx1.partner.test")}, sink
	}, mail.VerifiedMTASTS},
	"pkix-unauthenticated-mx": {func(t *testing.T, w *world) (Config, *smtpsink.Sink) {
		_, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, "good", "mx1.partner.test")})
		return Config{}, sink
	}, ""},
	"self-signed": {func(t *testing.T, w *world) (Config, *smtpsink.Sink) {
		_, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, "self-signed", "mx1.partner.test")})
		return Config{}, sink
	}, ""},
}

// PHI protected by the tls method reaches only next hops whose identity is
// authenticated end to end (DANE, MTA-STS); a CA-signed certificate on an
// MX name from unauthenticated DNS, and a self-signed one, send the
// recipient to the next method (the portal): the receiver gets the
// notification, never the PHI.
func TestPHIOverTLSOnlyToAuthenticatedNextHop(t *testing.T) {
	t.Parallel()
	eachReceiver(t, func(t *testing.T, w *world, cfg Config, sink *smtpsink.Sink, r receiverCase) {
		c := w.client(cfg)
		courier := newProtecting(t, c, false)
		out := courier.Deliver(context.Background(), phiDelivery("patient@partner.test"))
		if out[0].Err != nil {
			t.Fatalf("outcome %+v", out[0])
		}
		got := sink.Messages()
		if len(got) != 1 {
			t.Fatalf("sink got %d messages, want 1", len(got))
		}
		phiArrived := bytes.Contains(got[0].Data, []byte(phiMarker))
		if r.auth != "" {
			if out[0].Method != encrypt.MethodTLS || mail.Verification(out[0].Verification) != r.auth || !phiArrived {
				t.Errorf("method %q, verification %q, PHI arrived %v; want tls over %s",
					out[0].Method, out[0].Verification, phiArrived, r.auth)
			}
			if v := testutil.ToFloat64(c.metrics.verification.WithLabelValues(string(r.auth))); v != 1 {
				t.Errorf("sealgate_delivery_verification_total{verification=%q} = %v", r.auth, v)
			}
			return
		}
		if phiArrived || out[0].Method != encrypt.MethodPortal {
			t.Errorf("PHI arrived %v, method %q: want the portal notification only", phiArrived, out[0].Method)
		}
	})
}

// When what is known of the destination promised authenticated TLS (a
// trusted route) and the delivery then could not have it (its certificate
// does not verify), the recipient goes to the portal in the same attempt, and
// the next PHI message for the domain goes there without another try at
// authenticated TLS; the outcome says why.
func TestKnownUnauthenticatedDestinationGoesStraightToPortal(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false, false)
	sink := smtpsink.Start(t, smtpsink.Options{TLS: sinkTLS(t, w, "self-signed", "127.0.0.1")})
	c := w.client(Config{Routes: routeTo(sink), TrustedHops: []string{routeTo(sink)["partner.test"]}})
	courier := newProtecting(t, c, false)
	first := courier.Deliver(context.Background(), phiDelivery("patient@partner.test"))
	if first[0].Err != nil || first[0].Method != encrypt.MethodPortal ||
		first[0].MethodReason != "authenticated TLS not available at the destination" {
		t.Fatalf("first message: %+v", first[0])
	}
	if r := c.Reach("partner.test", mail.TLSAuthenticated); r != mail.ReachNo {
		t.Fatalf("after the failed attempt: reach %v, want no", r)
	}
	tlsFailures := testutil.ToFloat64(c.metrics.connects.WithLabelValues(connectTLS))
	second := courier.Deliver(context.Background(), phiDelivery("other@partner.test"))
	if second[0].Err != nil || second[0].Method != encrypt.MethodPortal ||
		second[0].MethodReason != "authenticated TLS known unavailable at the destination (last delivery)" {
		t.Fatalf("second message: %+v", second[0])
	}
	if got := testutil.ToFloat64(c.metrics.connects.WithLabelValues(connectTLS)); got != tlsFailures {
		t.Errorf("TLS failures went from %v to %v: the second message tried authenticated TLS again", tlsFailures, got)
	}
	for i, m := range sink.Messages() {
		if bytes.Contains(m.Data, []byte(phiMarker)) {
			t.Fatalf("message %d at the sink carries the PHI", i)
		}
	}
	if n := len(sink.Messages()); n != 2 {
		t.Fatalf("sink got %d messages, want the two portal notices", n)
	}
}

// Mail without PHI still goes to the opportunistic receivers, and the
// outcome says how little was verified.
func TestOpportunisticTLSCarriesOrdinaryMail(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]mail.Verification{"pkix-unauthenticated-mx": mail.VerifiedPKIX, "self-signed": mail.VerifiedNone} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, false, false)
			cfg, sink := receivers[name].setup(t, w)
			out := deliver(t, w.client(cfg), newDelivery("b@partner.test"))
			wantOK(t, out)
			if mail.Verification(out[0].Verification) != want || sink.Count() != 1 {
				t.Errorf("verification %q, sink %d; want %q, 1", out[0].Verification, sink.Count(), want)
			}
		})
	}
}

// With encryption.tls_accept_pkix the operator accepts a PKIX-valid
// certificate on an MX name from unauthenticated DNS; a self-signed one
// still sends PHI to the portal.
func TestAcceptPKIXOptIn(t *testing.T) {
	t.Parallel()
	for name, wantTLS := range map[string]bool{"pkix-unauthenticated-mx": true, "self-signed": false} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, false, false)
			cfg, sink := receivers[name].setup(t, w)
			out := newProtecting(t, w.client(cfg), true).Deliver(context.Background(), phiDelivery("patient@partner.test"))
			got := sink.Messages()
			if out[0].Err != nil || len(got) != 1 {
				t.Fatalf("outcome %+v, sink %d", out[0], len(got))
			}
			if arrived := bytes.Contains(got[0].Data, []byte(phiMarker)); arrived != wantTLS {
				t.Errorf("PHI arrived %v, want %v (method %q)", arrived, wantTLS, out[0].Method)
			}
			if wantTLS && out[0].Verification != string(mail.VerifiedPKIX) {
				t.Errorf("verification %q, want pkix", out[0].Verification)
			}
		})
	}
}

// A route or smarthost is only the first hop: PHI goes there over the tls
// method only when the operator declared it trusted (pinned), and then
// only with a certificate valid for its configured name.
func TestPinnedNextHop(t *testing.T) {
	t.Parallel()
	type tc struct {
		smarthost, trusted bool
		cert               string // sinkTLS kind
		wantPHI            bool
	}
	for name, c := range map[string]tc{
		"route trusted":         {trusted: true, cert: "good", wantPHI: true},
		"route not trusted":     {cert: "good"},
		"route trusted, bad":    {trusted: true, cert: "self-signed"},
		"smarthost trusted":     {smarthost: true, trusted: true, cert: "good", wantPHI: true},
		"smarthost not trusted": {smarthost: true, cert: "good"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, false, false)
			ip := mxIP(t, 7)
			w.dns.Add(t, "relay.clinic.test. 60 IN A "+ip)
			sink := smtpsink.Start(t, smtpsink.Options{Addr: ip + ":0", TLS: sinkTLS(t, w, c.cert, "relay.clinic.test")})
			hostport := "relay.clinic.test:" + sinkPort(t, sink)
			cfg := Config{Routes: map[string]string{"partner.test": hostport}}
			if c.smarthost {
				cfg = Config{Smarthost: hostport}
			}
			if c.trusted {
				cfg.TrustedHops = []string{hostport}
			}
			out := newProtecting(t, w.client(cfg), false).Deliver(context.Background(), phiDelivery("patient@partner.test"))
			got := sink.Messages()
			if out[0].Err != nil || len(got) != 1 {
				t.Fatalf("outcome %+v, sink %d", out[0], len(got))
			}
			if arrived := bytes.Contains(got[0].Data, []byte(phiMarker)); arrived != c.wantPHI {
				t.Errorf("PHI arrived %v, want %v (method %q)", arrived, c.wantPHI, out[0].Method)
			}
			if c.wantPHI && out[0].Verification != string(mail.VerifiedPinned) {
				t.Errorf("verification %q, want pinned", out[0].Verification)
			}
		})
	}
}

// A trusted hop that names neither a route nor the smarthost is an error,
// not a silent no-op.
func TestTrustedHopMustBeConfigured(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Hostname: "gw.test", Routes: map[string]string{"a.test": "mx.a.test:25"},
		TrustedHops: []string{"mx.b.test:25"}})
	if err == nil {
		t.Fatal("unknown trusted hop accepted")
	}
	if _, err := New(Config{Hostname: "gw.test", Routes: map[string]string{"a.test": "MX.a.test:25"},
		TrustedHops: []string{"mx.a.test:25"}}); err != nil {
		t.Fatal(err)
	}
}

// newProtecting is the protection layer in front of c, with the order
// tls, portal and a portal store of its own, and c's knowledge of
// destinations, as serve wires them; its portal notices are delivered at
// once, through c.
func newProtecting(t *testing.T, c *Client, acceptPKIX bool) *encrypt.Courier {
	t.Helper()
	courier, _ := newProtectingWith(t, c, acceptPKIX, spoolNow{c})
	return courier
}

// newProtectingWith is newProtecting with notices taken by spool, and
// the portal store.
func newProtectingWith(t *testing.T, c *Client, acceptPKIX bool, spool mail.Submitter) (*encrypt.Courier, *boxtest.Box) {
	t.Helper()
	store := boxtest.Open(t, nil)
	courier, err := encrypt.New(encrypt.Config{Order: []string{encrypt.MethodTLS, encrypt.MethodPortal},
		Portal: store, Notices: spool, AcceptPKIX: acceptPKIX, Next: c, Destinations: c,
		Notice: encrypt.Notice{BaseURL: "https://portal.clinic.test/", Organization: "Clinic", Hostname: "gw.clinic.test"}})
	if err != nil {
		t.Fatal(err)
	}
	return courier, store
}

// spoolNow stands for the queue's Submit: it delivers a portal notice at
// once, through c, as the queue's first attempt would.
type spoolNow struct{ c *Client }

func (s spoolNow) Submit(ctx context.Context, g mail.Generated) (string, error) {
	d := &mail.Delivery{QueueID: "N1", From: g.From, Domain: addr.DomainOf(g.To[0]), Body: g.Body, TLS: g.TLS, RequireTLS: g.RequireTLS}
	for _, to := range g.To {
		d.Rcpts = append(d.Rcpts, mail.Rcpt{Addr: to})
	}
	for _, o := range s.c.Deliver(ctx, d) {
		if o.Err != nil {
			return "", o.Err
		}
	}
	return d.QueueID, nil
}

// phiDelivery is a PHI message as smtpd queues it.
func phiDelivery(rcpts ...string) *mail.Delivery {
	d := newDelivery(rcpts...)
	d.Body, d.TLS = []byte(phiBody), mail.TLSVerify
	d.Policy = mail.PolicySummary{PHI: true, Action: "encrypt"}
	return d
}
