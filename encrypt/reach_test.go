package encrypt

import (
	"bytes"
	"context"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

// knownDestinations answers Reach from a fixed table.
type knownDestinations map[string]mail.Reach

func (k knownDestinations) Reach(domain string, level mail.TLSLevel) mail.Reach {
	if level < mail.TLSVerify {
		return mail.ReachUnknown
	}
	return k[domain]
}

// When the delivery side knows the destination cannot do authenticated
// TLS, a recipient without a key goes to the portal at once: no attempt at
// authenticated TLS is made, and the reason says why.
func TestKnownUnreachableTLSGoesStraightToPortal(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	f.c.cfg.Destinations = knownDestinations{"example.net": mail.ReachNo}
	out := f.c.Deliver(context.Background(), delivery("nothing@example.net"))
	if out[0].Err != nil || out[0].Method != MethodPortal || out[0].MethodReason != reasonTLSKnownNot {
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
	if !bytes.Contains(f.logs.Bytes(), []byte("known unavailable")) {
		t.Errorf("the decision is not in the log:\n%s", f.logs.Bytes())
	}
}

// Known able, or unknown, the tls method is tried as before.
func TestKnownOrUnknownReachKeepsTLS(t *testing.T) {
	for _, r := range []mail.Reach{mail.ReachYes, mail.ReachUnknown} {
		f := newFixture(t, nil, nil, nil)
		f.c.cfg.Destinations = knownDestinations{"example.net": r}
		out := f.c.Deliver(context.Background(), delivery("nothing@example.net"))
		got := f.next.sent()
		if out[0].Err != nil || out[0].Method != MethodTLS || len(got) != 1 || got[0].TLS < mail.TLSVerify {
			t.Fatalf("reach %v: outcome %+v, %d deliveries; want one over authenticated TLS", r, out[0], len(got))
		}
	}
}
