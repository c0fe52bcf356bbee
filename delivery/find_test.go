package delivery

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/encrypt"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mtasts"
)

// keptNotices is a spool that keeps the portal notices it is given, so
// that a test can tell whether the destination's MX saw any connection.
type keptNotices struct {
	mu sync.Mutex
	g  []mail.Generated
}

func (k *keptNotices) Submit(_ context.Context, g mail.Generated) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.g = append(k.g, g)
	return "N1", nil
}

func (k *keptNotices) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.g)
}

// A domain never delivered to, whose MX host has DNSSEC-signed TLSA
// records that match its certificate: the first PHI message leaves over
// DANE-authenticated TLS in one attempt (one connection, no TLS failure),
// the reason names DANE, and what the lookup found is remembered.
func TestFirstPHIMessageToNewDANEDomain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, true, true)
	cert := smtpsink.SelfSigned(t, "mx1.partner.test")
	host, sink := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(cert)})
	w.tlsa(host, 3, 1, 1, spki256(t, cert))
	c := w.client(Config{DANE: true})
	if r := c.Reach("partner.test", mail.TLSAuthenticated); r != mail.ReachUnknown {
		t.Fatalf("before anything: %v, want unknown", r)
	}
	notices := &keptNotices{}
	courier, store := newProtectingWith(t, c, false, notices)
	out := courier.Deliver(context.Background(), phiDelivery("patient@partner.test"))
	if out[0].Err != nil || out[0].Method != encrypt.MethodTLS || out[0].Verification != string(mail.VerifiedDANE) ||
		!strings.HasSuffix(out[0].MethodReason, "(destination: DANE)") {
		t.Fatalf("outcome %+v; want tls over DANE, the reason naming DANE", out[0])
	}
	got := sink.Messages()
	if len(got) != 1 || !bytes.Contains(got[0].Data, []byte(phiMarker)) || sink.Conns() != 1 {
		t.Fatalf("sink: %d messages over %d connections; want the message, once", len(got), sink.Conns())
	}
	if notices.count() != 0 || store.Len() != 0 {
		t.Errorf("%d notices, %d portal items; want none", notices.count(), store.Len())
	}
	if n := testutil.ToFloat64(c.metrics.connects.WithLabelValues(connectTLS)); n != 0 {
		t.Errorf("TLS failures: %v", n)
	}
	if r := c.Reach("partner.test", mail.TLSAuthenticated); r != mail.ReachYes {
		t.Errorf("after the lookup and delivery: %v, want yes", r)
	}
	if n := testutil.ToFloat64(c.metrics.lookups.WithLabelValues("yes")); n != 1 {
		t.Errorf("sealgate_delivery_destination_lookups_total{result=\"yes\"} = %v, want 1", n)
	}
}

// Messages for one new domain that ask at the same time make one lookup
// between them, and all get its answer.
func TestConcurrentFindsShareOneLookup(t *testing.T) {
	t.Parallel()
	w := newWorld(t, true, true)
	cert := smtpsink.SelfSigned(t, "mx1.partner.test")
	host, _ := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(cert)})
	w.tlsa(host, 3, 1, 1, spki256(t, cert))
	c := w.client(Config{DANE: true})
	const n = 8
	var wg sync.WaitGroup
	found := make([]mail.Finding, n)
	for i := range n {
		wg.Go(func() { found[i] = c.Find(context.Background(), "Partner.Test", mail.TLSAuthenticated) })
	}
	wg.Wait()
	for i, f := range found {
		if f.Reach != mail.ReachYes || f.Basis != basisDANE {
			t.Errorf("caller %d: %+v, want yes over DANE", i, f)
		}
	}
	if got := testutil.ToFloat64(c.metrics.lookups.WithLabelValues("yes")); got != 1 {
		t.Errorf("%v lookups for %d callers, want 1", got, n)
	}
}

// A domain never delivered to, without DANE (its zone unsigned, a TLSA
// record published all the same) and without MTA-STS: the first PHI
// message goes to the portal without any connection to the MX host, the
// reason says what the lookup found, and the next message is decided from
// what was remembered, without a lookup.
func TestFirstPHIMessageToNewUnauthenticatedDomain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false, true)
	host, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, "good", "mx1.partner.test")})
	w.tlsa(host, 3, 1, 1, otherKey(t))
	c := w.client(Config{DANE: true, MTASTS: w.noSTS()})
	notices := &keptNotices{}
	courier, store := newProtectingWith(t, c, false, notices)
	out := courier.Deliver(context.Background(), phiDelivery("patient@partner.test"))
	want := "authenticated TLS not available at the destination (looked up: no DANE, no enforced MTA-STS policy)"
	if out[0].Err != nil || out[0].Method != encrypt.MethodPortal || out[0].MethodReason != want {
		t.Fatalf("outcome %+v; want the portal, reason %q", out[0], want)
	}
	if sink.Conns() != 0 {
		t.Fatalf("the MX host saw %d connections, want none", sink.Conns())
	}
	if notices.count() != 1 || store.Len() != 1 {
		t.Fatalf("%d notices, %d portal items; want 1, 1", notices.count(), store.Len())
	}
	queries := w.dns.Queries()
	second := courier.Deliver(context.Background(), phiDelivery("other@partner.test"))
	wantKnown := "authenticated TLS known unavailable at the destination (no DANE, no enforced MTA-STS policy)"
	if second[0].Method != encrypt.MethodPortal || second[0].MethodReason != wantKnown {
		t.Errorf("second message: %+v; want the portal, reason %q", second[0], wantKnown)
	}
	if got := w.dns.Queries(); got != queries || sink.Conns() != 0 {
		t.Errorf("second message: %d DNS queries, %d connections; want none", got-queries, sink.Conns())
	}
	if n := testutil.ToFloat64(c.metrics.lookups.WithLabelValues("no")); n != 1 {
		t.Errorf("sealgate_delivery_destination_lookups_total{result=\"no\"} = %v, want 1", n)
	}
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	if len(w.rec.all) != 0 {
		t.Errorf("the lookup wrote TLS report results: %+v", w.rec.all)
	}
}

// When the lookup itself fails — the domain's MX answer is SERVFAIL, the
// address or TLSA lookup of a DNSSEC-signed MX host fails, the DNS server does not
// answer before the lookup's timeout — nothing is cleared: the recipient
// is deferred (a temporary failure, no method), no connection is made, no
// portal copy either, and nothing is remembered of the domain.
func TestFailedLookupClearsNothing(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, w *world, host string) Config{
		"MX SERVFAIL": func(t *testing.T, w *world, host string) Config {
			w.dns.Fail("partner.test")
			return Config{DANE: true}
		},
		"TLSA SERVFAIL": func(t *testing.T, w *world, host string) Config {
			w.dns.Fail("_" + w.port + "._tcp." + host)
			return Config{DANE: true}
		},
		"MX host address SERVFAIL": func(t *testing.T, w *world, host string) Config {
			// A DNSSEC-signed MX host whose address lookup fails: not
			// "no DANE", which would send the message on a weaker way.
			w.dns.Fail(host)
			return Config{DANE: true}
		},
		"no answer": func(t *testing.T, w *world, host string) Config {
			return Config{DANE: true, FindTimeout: 200 * time.Millisecond, Resolver: silentResolver(t)}
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, true, true)
			cert := smtpsink.SelfSigned(t, "mx1.partner.test")
			host, sink := w.mx(10, smtpsink.Options{TLS: smtpsink.ServerTLS(cert)})
			w.tlsa(host, 3, 1, 1, spki256(t, cert))
			cfg := setup(t, w, host)
			var c *Client
			if cfg.Resolver != nil {
				c = newTestClient(t, cfg)
			} else {
				c = w.client(cfg)
			}
			notices := &keptNotices{}
			courier, store := newProtectingWith(t, c, false, notices)
			out := courier.Deliver(context.Background(), phiDelivery("patient@partner.test"))
			if out[0].Err == nil || out[0].Permanent || out[0].Method != "" || !strings.Contains(out[0].MethodReason, "could not be looked up") {
				t.Fatalf("outcome %+v; want deferred, no method, the lookup failure as reason", out[0])
			}
			if sink.Conns() != 0 || notices.count() != 0 || store.Len() != 0 {
				t.Fatalf("%d connections, %d notices, %d portal items; want none", sink.Conns(), notices.count(), store.Len())
			}
			if f, ok := c.known("partner.test", mail.TLSAuthenticated); ok {
				t.Errorf("a failed lookup was remembered: %+v", f)
			}
			if n := testutil.ToFloat64(c.metrics.lookups.WithLabelValues(lookupFailed)); n != 1 {
				t.Errorf("sealgate_delivery_destination_lookups_total{result=\"failed\"} = %v, want 1", n)
			}
		})
	}
}

// silentResolver is a DNS client whose server reads queries and never
// answers, as an unreachable resolver behaves.
func silentResolver(t *testing.T) *dnsclient.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	res, err := dnsclient.New(dnsclient.Config{Servers: []string{pc.LocalAddr().String()}, TrustAD: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// noSTS is an MTA-STS cache for a world that publishes no policy.
func (w *world) noSTS() *mtasts.Cache {
	w.t.Helper()
	c, err := mtasts.NewCache(mtasts.Config{Dir: w.t.TempDir(), Resolver: w.res, RootCAs: w.ca.Pool()})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = c.Close() })
	return c
}
