package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func testConsents(t *testing.T, e env) {
	ctx := context.Background()
	if _, ok, err := e.s.ActiveConsent(ctx, "pat@home.test"); ok || err != nil {
		t.Fatalf("before any consent: %v %v", ok, err)
	}
	for _, bad := range []Consent{
		{Address: "no-at", Warning: "w", Channel: "paper", RecordedBy: "uid=0"},
		{Address: "pat@home.test", Warning: " ", Channel: "paper", RecordedBy: "uid=0"},
		{Address: "pat@home.test", Warning: "w", Channel: "pigeon", RecordedBy: "uid=0"},
		{Address: "pat@home.test", Warning: "w", Channel: "paper"},
	} {
		if _, err := e.s.AddConsent(ctx, bad); !errors.Is(err, ErrBadConsent) {
			t.Errorf("AddConsent(%+v) = %v, want ErrBadConsent", bad, err)
		}
	}
	c, err := e.s.AddConsent(ctx, Consent{Address: " Pat@Home.TEST", Warning: "warning-v2", Channel: "paper", RecordedBy: "uid=0(root)"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == "" || c.Address != "pat@home.test" || !c.At.Equal(e.clk.Now()) {
		t.Fatalf("added: %+v", c)
	}
	if _, err := e.s.AddConsent(ctx, Consent{Address: "pat@home.test", Warning: "w", Channel: "phone", RecordedBy: "uid=0"}); !errors.Is(err, ErrConsentExists) {
		t.Fatalf("second consent in force: %v, want ErrConsentExists", err)
	}
	got, ok, err := e.s.ActiveConsent(ctx, "PAT@home.test")
	if err != nil || !ok || got != c {
		t.Fatalf("ActiveConsent = %+v %v %v, want %+v", got, ok, err, c)
	}
	if _, ok, _ := e.s.ActiveConsent(ctx, "sam@home.test"); ok {
		t.Fatal("a consent applied to another address")
	}

	e.clk.Add(time.Hour)
	r, err := e.s.RevokeConsent(ctx, "pat@home.test", "uid=1000(clerk)")
	if err != nil || r.ID != c.ID || !r.Revoked.Equal(e.clk.Now()) || r.RevokedBy != "uid=1000(clerk)" {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	if _, ok, err := e.s.ActiveConsent(ctx, "pat@home.test"); ok || err != nil {
		t.Fatalf("after revoke: %v %v", ok, err)
	}
	if _, err := e.s.RevokeConsent(ctx, "pat@home.test", "uid=0"); !errors.Is(err, ErrNoConsent) {
		t.Fatalf("second revoke: %v, want ErrNoConsent", err)
	}
	// A new consent after a revoked one; the register keeps both.
	c2, err := e.s.AddConsent(ctx, Consent{Address: "pat@home.test", Warning: "Plain e-mail can be read on its way.", Channel: "portal", RecordedBy: "uid=0"})
	if err != nil {
		t.Fatal(err)
	}
	inForce, err := e.s.Consents(ctx, "", false)
	if err != nil || len(inForce) != 1 || inForce[0].ID != c2.ID {
		t.Fatalf("in force: %+v %v", inForce, err)
	}
	all, err := e.s.Consents(ctx, "Pat@home.test", true)
	if err != nil || len(all) != 2 || all[0].ID != c.ID || all[0].Revoked.IsZero() || all[1].ID != c2.ID || !all[1].Revoked.IsZero() {
		t.Fatalf("all: %+v %v", all, err)
	}
	if other, err := e.s.Consents(ctx, "sam@home.test", true); err != nil || len(other) != 0 {
		t.Fatalf("another address: %+v %v", other, err)
	}
}

// TestConsentUnreadable: a register that cannot be read is an error, never
// "no consent" silently turned into "consent" or the reverse.
func TestConsentUnreadable(t *testing.T) {
	e := openSQLite(t)
	e.s.db.Close()
	if _, ok, err := e.s.ActiveConsent(context.Background(), "pat@home.test"); err == nil || ok {
		t.Fatalf("closed store: %v %v, want an error", ok, err)
	}
}

// TestNormConsentAddress: ASCII case never separates a consent from its
// address, and no Unicode case rule joins a look-alike mailbox to it.
func TestNormConsentAddress(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{" Pat@Home.TEST", "pat@home.test"},
		{"PAT@BÜCHER.example", "pat@bücher.example"},
	} {
		if NormConsentAddress(tc.a) != NormConsentAddress(tc.b) {
			t.Errorf("%q and %q are kept apart", tc.a, tc.b)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"\u212Aate@home.test", "kate@home.test"},        // KELVIN SIGN folds to "k" in Unicode
		{"\u2126mega@home.test", "\u03c9mega@home.test"}, // OHM SIGN folds to omega
		{"pat+x@home.test", "pat@home.test"},
		{"pat@home.test.", "pat@home.test"},
	} {
		if NormConsentAddress(tc.a) == NormConsentAddress(tc.b) {
			t.Errorf("%q and %q are taken for one address (%q)", tc.a, tc.b, NormConsentAddress(tc.a))
		}
	}
}

// testConsentsIDN: a consent recorded with one IDNA form of the domain is
// found with the other, in both directions; a second consent in the other
// form is refused, and revoking in the other form withdraws it.
func testConsentsIDN(t *testing.T, e env) {
	ctx := context.Background()
	for _, c := range []struct{ recorded, asked string }{
		{"pat@bücher.test", "pat@xn--bcher-kva.test"},
		{"sam@xn--mller-kva.test", "sam@müller.test"},
	} {
		added, err := e.s.AddConsent(ctx, Consent{Address: c.recorded, Warning: "warning-v1", Channel: "paper", RecordedBy: "uid=0(root)"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{c.recorded, c.asked, strings.ToUpper(c.asked)} {
			got, ok, err := e.s.ActiveConsent(ctx, a)
			if err != nil || !ok || got.ID != added.ID {
				t.Errorf("ActiveConsent(%s) after consent for %s: %v %v %v", a, c.recorded, got.ID, ok, err)
			}
		}
		if list, err := e.s.Consents(ctx, c.asked, false); err != nil || len(list) != 1 || list[0].ID != added.ID {
			t.Errorf("Consents(%s): %+v %v", c.asked, list, err)
		}
		if _, err := e.s.AddConsent(ctx, Consent{Address: c.asked, Warning: "warning-v1", Channel: "paper", RecordedBy: "uid=0(root)"}); !errors.Is(err, ErrConsentExists) {
			t.Errorf("a second consent for %s in the other form: %v, want ErrConsentExists", c.asked, err)
		}
		if _, err := e.s.RevokeConsent(ctx, c.asked, "uid=0(root)"); err != nil {
			t.Errorf("revoking %s in the other form: %v", c.asked, err)
		}
		if _, ok, err := e.s.ActiveConsent(ctx, c.recorded); ok || err != nil {
			t.Errorf("consent for %s still in force after revocation (%v)", c.recorded, err)
		}
	}
	if _, ok, err := e.s.ActiveConsent(ctx, "pat@bucher.test"); ok || err != nil {
		t.Errorf("a consent for pat@bücher.test reached pat@bucher.test (%v)", err)
	}
}
