package encrypt

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/mail"
)

// consentBook is an in-memory consent consentBook; err, when set, is what every
// lookup answers (a store that cannot be read).
type consentBook struct {
	mu      sync.Mutex
	in      map[string]mail.ConsentBasis
	err     error
	lookups int
}

func (r *consentBook) Consent(_ context.Context, addr string) (mail.ConsentBasis, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups++
	if r.err != nil {
		return mail.ConsentBasis{}, false, r.err
	}
	b, ok := r.in[addr]
	return b, ok, nil
}

func (r *consentBook) revoke(addr string) {
	r.mu.Lock()
	delete(r.in, addr)
	r.mu.Unlock()
}

var patConsent = mail.ConsentBasis{ID: "cn-1", At: t0.Add(-24 * time.Hour), Channel: "paper"}

// consentFixture: the default order, authenticated TLS refused at both
// recipients' destination, pat@example.net consenting.
func consentFixture(t *testing.T, order []string) (*fixture, *consentBook) {
	f := newFixture(t, order, nil, nil)
	f.next.reply = noVerifyAt("pat@example.net", "sam@example.net")
	reg := &consentBook{in: map[string]mail.ConsentBasis{"pat@example.net": patConsent}}
	f.c.cfg.Consents = reg
	return f, reg
}

// sentTo returns what the next hop got for rcpt.
func sentTo(f *fixture, rcpt string) []sent {
	var out []sent
	for _, s := range f.next.sent() {
		for _, r := range s.Rcpts {
			if r == rcpt {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestConsentSendsUnchangedOnlyToTheConsentingRecipient(t *testing.T) {
	f, _ := consentFixture(t, nil)
	out := f.c.Deliver(context.Background(), delivery("pat@example.net", "sam@example.net"))
	if out[0].Err != nil || out[0].Method != MethodConsent || !strings.HasPrefix(out[0].MethodReason, reasonConsent) ||
		out[0].Consent == nil || *out[0].Consent != patConsent {
		t.Fatalf("consenting recipient: %+v", out[0])
	}
	if out[1].Err != nil || out[1].Method != MethodPortal || out[1].Consent != nil {
		t.Fatalf("other recipient: %+v", out[1])
	}
	pat := sentTo(f, "pat@example.net")
	last := pat[len(pat)-1]
	// First the authenticated-TLS try (refused), then the consent copy:
	// the message unchanged, STARTTLS whenever offered.
	if !bytes.Equal(last.Body, []byte(phiMessage)) || last.TLS != mail.TLSMay || len(last.Rcpts) != 1 {
		t.Fatalf("consent copy: TLS %v, rcpts %v, body unchanged %v", last.TLS, last.Rcpts, bytes.Equal(last.Body, []byte(phiMessage)))
	}
	for _, s := range sentTo(f, "sam@example.net") {
		if s.TLS < mail.TLSAuthenticated {
			for _, w := range phiWords {
				if bytes.Contains(s.Body, []byte(w)) {
					t.Fatalf("PHI %q left for the recipient without consent", w)
				}
			}
		}
	}
	if f.count(MethodConsent) != 1 || f.count(MethodPortal) != 1 {
		t.Fatalf("counted consent %v, portal %v", f.count(MethodConsent), f.count(MethodPortal))
	}
}

func TestRevokedConsentProtectsTheNextAttempt(t *testing.T) {
	f, reg := consentFixture(t, nil)
	f.c.Deliver(context.Background(), delivery("pat@example.net"))
	reg.revoke("pat@example.net")
	out := f.c.Deliver(context.Background(), delivery("pat@example.net"))
	if out[0].Err != nil || out[0].Method != MethodPortal || out[0].Consent != nil {
		t.Fatalf("after revocation: %+v", out[0])
	}
	if reg.lookups != 2 {
		t.Fatalf("consentBook read %d times, want once per attempt", reg.lookups)
	}
}

func TestUnreadableRegisterProtects(t *testing.T) {
	f, reg := consentFixture(t, nil)
	reg.err = errors.New("store: database is locked")
	out := f.c.Deliver(context.Background(), delivery("pat@example.net"))
	if out[0].Method != MethodPortal || !strings.HasSuffix(out[0].MethodReason, "; "+reasonConsentUnreadable) || out[0].Consent != nil {
		t.Fatalf("consentBook unreadable: %+v", out[0])
	}
	if n := testutil.ToFloat64(f.c.m.consentErrors); n != 1 {
		t.Fatalf("consent lookup errors = %v, want 1", n)
	}
	if strings.Contains(f.logs.String(), "pat@example.net") {
		t.Fatal("the log names the recipient")
	}
}

// TestConsentNeverOverridesEncryptionOrRules: a consenting recipient with a
// key still gets an encrypted copy; held mail and mail whose method a rule
// forced ignore consent.
func TestConsentNeverOverridesEncryptionOrRules(t *testing.T) {
	f, reg := consentFixture(t, nil)
	reg.in["pgp@example.net"] = patConsent
	if out := f.c.Deliver(context.Background(), delivery("pgp@example.net")); out[0].Method != MethodPGP {
		t.Fatalf("consenting recipient with a key: %+v", out[0])
	}
	for name, policy := range map[string]mail.PolicySummary{
		"quarantine":    {PHI: true, Action: mail.ActionQuarantine},
		"block":         {PHI: true, Action: mail.ActionBlock},
		"forced portal": {PHI: true, Action: "encrypt", Method: mail.MethodPortal},
		"forced tls":    {PHI: true, Action: "encrypt", Method: mail.MethodTLS},
	} {
		d := delivery("pat@example.net")
		d.Policy = policy
		out := f.c.Deliver(context.Background(), d)
		if out[0].Method == MethodConsent || out[0].Consent != nil {
			t.Fatalf("%s: consent applied: %+v", name, out[0])
		}
	}
}

// TestConsentInsteadOfDeferral: without the portal in the order, a
// consenting recipient whose destination lacks authenticated TLS gets the
// consent copy; one without consent is still deferred, never sent plain.
func TestConsentInsteadOfDeferral(t *testing.T) {
	f, _ := consentFixture(t, []string{MethodPGP, MethodTLS})
	out := f.c.Deliver(context.Background(), delivery("pat@example.net", "sam@example.net"))
	if out[0].Err != nil || out[0].Method != MethodConsent {
		t.Fatalf("consenting: %+v", out[0])
	}
	if !errors.Is(out[1].Err, errNoMethod) {
		t.Fatalf("not consenting: %+v, want no-method deferral", out[1])
	}
	for _, s := range sentTo(f, "sam@example.net") {
		if s.TLS < mail.TLSAuthenticated {
			t.Fatalf("sent to the recipient without consent at TLS %v", s.TLS)
		}
	}
}
