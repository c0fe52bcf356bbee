package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func testSuppressions(t *testing.T, e env) {
	ctx := context.Background()
	if err := e.s.Suppress(ctx, Suppression{Domain: "News.Clinic.test.", Address: "Pat@Home.test", Reason: ReasonUnsubscribe}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		domain, addr string
		want         bool
	}{
		{"news.clinic.test", "pat@home.test", true},
		{"NEWS.clinic.test", "PAT@home.TEST", true},
		{"other.clinic.test", "pat@home.test", false}, // per sending domain
		{"news.clinic.test", "sam@home.test", false},
	} {
		got, err := e.s.Suppressed(ctx, c.domain, c.addr)
		if err != nil || got != c.want {
			t.Errorf("Suppressed(%s, %s) = %v, %v; want %v", c.domain, c.addr, got, err, c.want)
		}
	}
	// A second entry for the same address updates reason and time.
	e.clk.Add(time.Hour)
	if err := e.s.Suppress(ctx, Suppression{Domain: "news.clinic.test", Address: "pat@home.test", Reason: ReasonComplaint}); err != nil {
		t.Fatal(err)
	}
	e.s.Suppress(ctx, Suppression{Domain: "a.test", Address: "x@y.test", Reason: ReasonManual})
	all, err := e.s.Suppressions(ctx, "")
	if err != nil || len(all) != 2 || all[0].Domain != "a.test" || all[1].Reason != ReasonComplaint || !all[1].At.Equal(e.clk.Now()) {
		t.Fatalf("all: %+v %v", all, err)
	}
	one, err := e.s.Suppressions(ctx, "news.clinic.test")
	if err != nil || len(one) != 1 || one[0].Address != "pat@home.test" {
		t.Fatalf("one domain: %+v %v", one, err)
	}
	for _, bad := range []Suppression{{Domain: "d.test", Address: "x@y.test", Reason: "bored"},
		{Domain: "", Address: "x@y.test", Reason: ReasonManual}, {Domain: "d.test", Address: "nobody", Reason: ReasonManual}} {
		if err := e.s.Suppress(ctx, bad); !errors.Is(err, ErrBadSuppression) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if ok, err := e.s.Unsuppress(ctx, "news.clinic.test", "PAT@home.test"); !ok || err != nil {
		t.Fatalf("unsuppress: %v %v", ok, err)
	}
	if ok, _ := e.s.Unsuppress(ctx, "news.clinic.test", "pat@home.test"); ok {
		t.Fatal("removed twice")
	}
	if got, _ := e.s.Suppressed(ctx, "news.clinic.test", "pat@home.test"); got {
		t.Fatal("still suppressed after removal")
	}
}

// testSuppressionsIDN: an internationalised domain is one mailbox in its
// U-label and A-label forms (SMTPUTF8 clients send the first, others the
// second): an entry in either form stops marketing mail to both.
func testSuppressionsIDN(t *testing.T, e env) {
	ctx := context.Background()
	for _, a := range []string{"pat@bücher.test", "sam@xn--mller-kva.test"} {
		if err := e.s.Suppress(ctx, Suppression{Domain: "news.clinic.test", Address: a, Reason: ReasonHardBounce}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"pat@bücher.test", true},
		{"pat@xn--bcher-kva.test", true},
		{"PAT@XN--BCHER-KVA.test", true},
		{"sam@müller.test", true},
		{"sam@xn--mller-kva.test", true},
		{"pat@bucher.test", false},
		{"sam@muller.test", false},
		{"pat@xn--bcher-kva.test.example", false},
	} {
		got, err := e.s.Suppressed(ctx, "news.clinic.test", c.addr)
		if err != nil || got != c.want {
			t.Errorf("Suppressed(%s) = %v, %v; want %v", c.addr, got, err, c.want)
		}
	}
}
