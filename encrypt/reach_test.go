package encrypt

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

// knownDestinations answers Find from a fixed table, as the delivery side
// answers from what it cached or looked up, and counts the questions.
type knownDestinations struct {
	mu    sync.Mutex
	m     map[string]mail.Finding
	asked int
}

func knownReach(domain string, r mail.Reach) *knownDestinations {
	return &knownDestinations{m: map[string]mail.Finding{domain: {Reach: r, Basis: "last delivery"}}}
}

func (k *knownDestinations) Find(_ context.Context, domain string, level mail.TLSLevel) mail.Finding {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.asked++
	if level < mail.TLSVerify {
		return mail.Finding{}
	}
	return k.m[domain]
}

// When the delivery side knows the destination cannot do authenticated
// TLS, a recipient without a key goes to the portal at once: no attempt at
// authenticated TLS is made, and the reason says why.
func TestKnownUnreachableTLSGoesStraightToPortal(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	f.c.cfg.Destinations = knownReach("example.net", mail.ReachNo)
	out := f.c.Deliver(context.Background(), delivery("nothing@example.net"))
	if out[0].Err != nil || out[0].Method != MethodPortal || out[0].MethodReason != reasonTLSKnownNot+" (last delivery)" {
		t.Fatalf("outcome %+v; want portal with reason %q", out[0], reasonTLSKnownNot)
	}
	if got := f.next.sent(); len(got) != 0 {
		t.Fatalf("next got %d deliveries, want none: no TLS attempt, the notice goes through the spool", len(got))
	}
	ns := f.spool.notices()
	if len(ns) != 1 || ns[0].TLS >= mail.TLSVerify || bytes.Contains(ns[0].Body, []byte("carcinoma")) {
		t.Fatalf("spooled %d notices; want the one portal notice without PHI", len(ns))
	}
	if f.store.Len() != 1 {
		t.Fatalf("portal holds %d items, want 1", f.store.Len())
	}
	if logs := f.logs.String(); !strings.Contains(logs, "known unavailable") {
		t.Errorf("the decision is not in the log:\n%s", logs)
	}
}

// Known able, or unknown, the tls method is tried as before.
func TestKnownOrUnknownReachKeepsTLS(t *testing.T) {
	for _, r := range []mail.Reach{mail.ReachYes, mail.ReachUnknown} {
		f := newFixture(t, nil, nil, nil)
		f.c.cfg.Destinations = knownReach("example.net", r)
		out := f.c.Deliver(context.Background(), delivery("nothing@example.net"))
		got := f.next.sent()
		if out[0].Err != nil || out[0].Method != MethodTLS || len(got) != 1 || got[0].TLS < mail.TLSVerify {
			t.Fatalf("reach %v: outcome %+v, %d deliveries; want one over authenticated TLS", r, out[0], len(got))
		}
	}
}

// A destination the delivery side looked up and found unable to
// authenticate its next hop: every recipient without a key goes to the
// portal in the first attempt, no TLS delivery is tried, the destination
// is asked about once for the whole message, and the reason names what
// the lookup found.
func TestLookedUpUnreachableTLSGoesToPortal(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	dest := &knownDestinations{m: map[string]mail.Finding{"example.net": {Reach: mail.ReachNo,
		Basis: "no DANE, no enforced MTA-STS policy", LookedUp: true}}}
	f.c.cfg.Destinations = dest
	out := f.c.Deliver(context.Background(), delivery("a@example.net", "b@example.net"))
	want := "authenticated TLS not available at the destination (looked up: no DANE, no enforced MTA-STS policy)"
	for _, o := range out {
		if o.Err != nil || o.Method != MethodPortal || o.MethodReason != want {
			t.Fatalf("outcome %+v; want portal with reason %q", o, want)
		}
	}
	if got := f.next.sent(); len(got) != 0 {
		t.Fatalf("next got %d deliveries, want none", len(got))
	}
	if dest.asked != 1 {
		t.Errorf("destination asked %d times for one message, want 1", dest.asked)
	}
}

// Found able: the tls method, and the reason says on what that rests.
func TestLookedUpReachableTLS(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	f.c.cfg.Destinations = &knownDestinations{m: map[string]mail.Finding{"example.net": {Reach: mail.ReachYes, Basis: "DANE", LookedUp: true}}}
	out := f.c.Deliver(context.Background(), delivery("nothing@example.net"))
	if out[0].Err != nil || out[0].Method != MethodTLS || !strings.HasSuffix(out[0].MethodReason, "(destination: DANE)") {
		t.Fatalf("outcome %+v; want tls resting on DANE", out[0])
	}
}

// A lookup that failed clears nothing: the recipient is deferred with the
// lookup's failure (or bounced when it was permanent), no delivery is
// tried and no portal copy is made; a recipient with a key is protected
// as ever, without the lookup.
func TestFailedLookupDefers(t *testing.T) {
	for _, perm := range []bool{false, true} {
		f := newFixture(t, nil, nil, nil)
		failure := errors.New("lookup failed")
		dest := &knownDestinations{m: map[string]mail.Finding{"example.net": {Err: failure, Permanent: perm, Enhanced: "4.4.3", LookedUp: true}}}
		f.c.cfg.Destinations = dest
		out := f.c.Deliver(context.Background(), delivery("nothing@example.net", "pgp@example.net"))
		if !errors.Is(out[0].Err, failure) || out[0].Permanent != perm || out[0].Method != "" || out[0].MethodReason != reasonLookupFailed {
			t.Fatalf("permanent %v: outcome %+v; want the lookup's failure, no method", perm, out[0])
		}
		if out[1].Err != nil || out[1].Method != MethodPGP {
			t.Fatalf("key holder: %+v", out[1])
		}
		for _, s := range f.next.sent() {
			if slices.Contains(s.Rcpts, "nothing@example.net") {
				t.Fatalf("a delivery was tried for the recipient whose destination could not be looked up")
			}
		}
		if f.store.Len() != 0 || len(f.spool.notices()) != 0 {
			t.Fatalf("portal holds %d items, %d notices; want none", f.store.Len(), len(f.spool.notices()))
		}
	}
}
