package delivery

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
)

// A delivery that cannot have the TLS it requires fails with an error
// matching mail.ErrTLSUnavailable, and the client then knows the domain
// cannot do that level (nor more), while a lower level stays unknown; a
// later verified delivery replaces that knowledge.
func TestReachLearntFromDeliveries(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	bad := smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(smtpsink.SelfSigned(t, "127.0.0.1"))})
	c := newTestClient(t, Config{Routes: routeTo(bad), RootCAs: ca.Pool()})
	if r := c.Reach("partner.test", mail.TLSVerify); r != mail.ReachUnknown {
		t.Fatalf("before any delivery: %v", r)
	}
	d := newDelivery("b@partner.test")
	d.TLS = mail.TLSVerify
	out := deliver(t, c, d)
	if !errors.Is(out[0].Err, mail.ErrTLSUnavailable) {
		t.Fatalf("error %v does not match mail.ErrTLSUnavailable", out[0].Err)
	}
	for level, want := range map[mail.TLSLevel]mail.Reach{
		mail.TLSMay: mail.ReachUnknown, mail.TLSVerify: mail.ReachNo, mail.TLSAuthenticated: mail.ReachNo} {
		if r := c.Reach("Partner.Test", level); r != want {
			t.Errorf("after the failure, level %d: %v, want %v", level, r, want)
		}
	}
	if r := c.Reach("other.test", mail.TLSVerify); r != mail.ReachUnknown {
		t.Errorf("another domain: %v", r)
	}

	good := smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(ca.Leaf(t, "127.0.0.1"))})
	c2 := newTestClient(t, Config{Routes: routeTo(good), RootCAs: ca.Pool()})
	c2.reach = c.reach // the same book, a fixed destination
	wantOK(t, deliver(t, c2, d))
	if r := c.Reach("partner.test", mail.TLSVerify); r != mail.ReachYes {
		t.Errorf("after a verified delivery: %v, want yes", r)
	}
	if r := c.Reach("partner.test", mail.TLSAuthenticated); r != mail.ReachNo {
		t.Errorf("PKIX over a route not declared trusted, authenticated level: %v, want no (the plan had no DANE, MTA-STS or trusted hop)", r)
	}
}

// What is known expires: after reachTTL the domain is unknown again.
func TestReachExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b := newReachBook(func() time.Time { return now })
	d := newDelivery("b@partner.test")
	d.TLS = mail.TLSAuthenticated
	b.learn(d, []mail.Outcome{{Rcpt: "b@partner.test", Err: &Error{Command: CmdTLS, Enhanced: "4.7.5"}}})
	if r := b.get("partner.test", mail.TLSAuthenticated); r != mail.ReachNo {
		t.Fatalf("fresh: %v", r)
	}
	if r := b.get("partner.test", mail.TLSVerify); r != mail.ReachUnknown {
		t.Fatalf("a lower level than the one that failed: %v", r)
	}
	// A portal notice over opportunistic TLS does not make authenticated
	// TLS possible again.
	b.learn(d, []mail.Outcome{{Rcpt: "b@partner.test", TLSVersion: "TLS1.3"}})
	if r := b.get("partner.test", mail.TLSAuthenticated); r != mail.ReachNo {
		t.Fatalf("after an unverified success: %v, want still no", r)
	}
	if r := b.get("partner.test", mail.TLSEncrypt); r != mail.ReachYes {
		t.Fatalf("encrypted TLS after an unverified success: %v, want yes", r)
	}
	now = now.Add(reachTTL + time.Second)
	if r := b.get("partner.test", mail.TLSAuthenticated); r != mail.ReachUnknown {
		t.Fatalf("after the TTL: %v", r)
	}
	// A failure that is not about TLS teaches nothing.
	b.learn(d, []mail.Outcome{{Rcpt: "b@partner.test", Err: &Error{Command: "RCPT", Code: 550, Permanent: true}}})
	if r := b.get("partner.test", mail.TLSAuthenticated); r != mail.ReachUnknown {
		t.Fatalf("after a 550: %v", r)
	}
}

// Before any attempt at authenticated TLS, the client knows from what it
// planned for an ordinary message (DANE records, an enforced MTA-STS
// policy, or neither) whether a PHI message could go there over
// authenticated TLS; a cached enforced MTA-STS policy alone, with no
// delivery yet, promises it too.
func TestReachFromPlanAndCachedPolicies(t *testing.T) {
	t.Parallel()
	eachReceiver(t, func(t *testing.T, w *world, cfg Config, _ *smtpsink.Sink, r receiverCase) {
		c := w.client(cfg)
		if got := c.Reach("partner.test", mail.TLSAuthenticated); got != mail.ReachUnknown {
			t.Fatalf("before any delivery or fetch: %v, want unknown", got)
		}
		wantOK(t, deliver(t, c, newDelivery("b@partner.test"))) // ordinary mail, opportunistic TLS
		want := map[bool]mail.Reach{true: mail.ReachYes, false: mail.ReachNo}[r.auth != ""]
		if got := c.Reach("Partner.Test", mail.TLSAuthenticated); got != want {
			t.Errorf("after an ordinary delivery: %v, want %v", got, want)
		}
		if cfg.MTASTS == nil {
			return
		}
		fresh := w.client(Config{MTASTS: cfg.MTASTS}) // a restart: the policy cached, nothing delivered
		for _, level := range []mail.TLSLevel{mail.TLSVerify, mail.TLSAuthenticated} {
			if got := fresh.Reach("partner.test", level); got != mail.ReachYes {
				t.Errorf("cached enforced policy, level %d: %v, want yes", level, got)
			}
		}
	})
}

// A cached MTA-STS policy in testing mode promises nothing.
func TestReachTestingPolicyPromisesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false, false)
	sts := w.stsPolicy("testing", "mx1.partner.test")
	if p, err := sts.Get(context.Background(), "partner.test"); err != nil || p == nil {
		t.Fatalf("policy %v, %v", p, err)
	}
	c := w.client(Config{MTASTS: sts})
	if got := c.Reach("partner.test", mail.TLSVerify); got != mail.ReachUnknown {
		t.Errorf("testing policy: %v, want unknown", got)
	}
}
