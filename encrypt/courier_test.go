package encrypt

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/encrypt/portalbox"
	"github.com/sealgate/sealgate/mail"
)

func checkNoPHI(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, w := range phiWords {
		if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(w))) {
			t.Errorf("%s carries %q in the clear", what, w)
		}
	}
}

func TestPassThroughWhenNoProtectionNeeded(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	d := delivery("pgp@example.net", "other@example.net")
	d.TLS = mail.TLSMay
	d.Policy = mail.PolicySummary{Action: "deliver"}
	out := f.c.Deliver(context.Background(), d)
	got := f.next.sent()
	if len(got) != 1 || !bytes.Equal(got[0].Body, []byte(phiMessage)) || got[0].TLS != mail.TLSMay || len(got[0].Rcpts) != 2 {
		t.Fatalf("next got %+v", got)
	}
	if len(out) != 2 || out[0].Err != nil || f.count(MethodNone) != 2 || f.count(MethodPGP) != 0 {
		t.Fatalf("outcomes %+v, none=%v", out, f.count(MethodNone))
	}
}

func TestFourRecipientsLeaveFourWays(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	f.next.reply = noVerifyAt("nothing@example.net")
	d := delivery("pgp@example.net", "smime@example.net", "tls@example.net", "nothing@example.net")
	out := f.c.Deliver(context.Background(), d)
	for _, o := range out {
		if o.Err != nil {
			t.Fatalf("%s: %v", o.Rcpt, o.Err)
		}
	}
	if len(out) != 4 || out[3].Rcpt != "nothing@example.net" {
		t.Fatalf("outcomes not in recipient order: %+v", out)
	}
	byRcpt := map[string][]sent{}
	for _, s := range f.next.sent() {
		for _, r := range s.Rcpts {
			byRcpt[r] = append(byRcpt[r], s)
		}
	}
	checkPGPCopy(t, f, byRcpt["pgp@example.net"])
	checkSMIMECopy(t, f, byRcpt["smime@example.net"])
	if s := byRcpt["tls@example.net"]; len(s) != 1 || !bytes.Equal(s[0].Body, []byte(phiMessage)) || s[0].TLS != mail.TLSAuthenticated {
		t.Errorf("tls recipient got %+v", s)
	}
	checkPortal(t, f, byRcpt["nothing@example.net"])
	for _, m := range []string{MethodPGP, MethodSMIME, MethodTLS, MethodPortal} {
		if f.count(m) != 1 {
			t.Errorf("sealgate_encrypted_total{method=%q} = %v, want 1", m, f.count(m))
		}
	}
	if v := testutil.ToFloat64(f.c.m.fallbacks.WithLabelValues(MethodTLS)); v != 1 {
		t.Errorf("tls fallbacks = %v, want 1", v)
	}
	checkLogs(t, f.logs.String())
}

func checkPGPCopy(t *testing.T, f *fixture, got []sent) {
	t.Helper()
	if len(got) != 1 || got[0].TLS != mail.TLSNone {
		t.Fatalf("pgp recipient got %d deliveries", len(got))
	}
	checkNoPHI(t, "PGP/MIME outer message", got[0].Body)
	if !bytes.Contains(got[0].Body, []byte("multipart/encrypted")) || !bytes.Contains(got[0].Body, []byte("Subject: Encrypted message")) {
		t.Errorf("not PGP/MIME with the neutral subject:\n%s", got[0].Body[:300])
	}
	plain := pgpPlain(t, got[0].Body, f.pgpKey)
	for _, w := range append(phiWords, "Subject: Your biopsy results") {
		if !bytes.Contains(plain, []byte(w)) {
			t.Errorf("decrypted PGP lacks %q", w)
		}
	}
}

func checkSMIMECopy(t *testing.T, f *fixture, got []sent) {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("smime recipient got %d deliveries", len(got))
	}
	checkNoPHI(t, "S/MIME outer message", got[0].Body)
	if !bytes.Contains(got[0].Body, []byte("application/pkcs7-mime; smime-type=enveloped-data")) {
		t.Errorf("not S/MIME enveloped data:\n%s", got[0].Body[:300])
	}
	plain := smimePlain(t, got[0].Body, f.cert)
	for _, w := range append(phiWords, "Subject: Your biopsy results") {
		if !bytes.Contains(plain, []byte(w)) {
			t.Errorf("decrypted S/MIME lacks %q", w)
		}
	}
}

var linkRE = regexp.MustCompile(`https://portal\.example\.org/m/([A-Za-z0-9_-]{43})`)

// checkPortal: a refused verified-TLS attempt, then one notification
// without PHI in the spool whose link finds the original in the store.
func checkPortal(t *testing.T, f *fixture, got []sent) {
	t.Helper()
	if len(got) != 1 || got[0].TLS != mail.TLSAuthenticated {
		t.Fatalf("portal recipient got %d deliveries, want the TLS attempt only", len(got))
	}
	ns := f.spool.notices()
	if len(ns) != 1 || ns[0].Origin != mail.OriginPortalNotice || ns[0].From != "lab@clinic.example.org" ||
		len(ns[0].To) != 1 || ns[0].To[0] != "nothing@example.net" || ns[0].Sensitive || ns[0].TLS != mail.TLSNone {
		t.Fatalf("spooled notifications %+v; want one portal_notice to nothing@example.net", ns)
	}
	n := ns[0].Body
	checkNoPHI(t, "notification", n)
	for _, w := range []string{"Subject: You have a secure message", "From: \"Example Clinic\" <lab@clinic.example.org>", "To: <nothing@example.net>"} {
		if !bytes.Contains(n, []byte(w)) {
			t.Errorf("notification lacks %q:\n%s", w, n)
		}
	}
	m := linkRE.FindSubmatch(n)
	if m == nil {
		t.Fatalf("no portal link in:\n%s", n)
	}
	it, err := f.store.Get(context.Background(), string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(it.Message, []byte(phiMessage)) || it.Recipient != "nothing@example.net" || it.QueueID != "Q1" {
		t.Errorf("portal item %+v", it)
	}
}

// checkLogs: one line per recipient with method and reason, no address.
func checkLogs(t *testing.T, logs string) {
	t.Helper()
	for _, want := range []string{"method=pgp reason=\"OpenPGP key in keyring\"", "method=smime reason=\"S/MIME certificate in store\"",
		"method=tls reason=\"no usable key or certificate; authenticated TLS required\"",
		"method=portal reason=\"authenticated TLS not available at the destination\""} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "@example.net") || strings.Contains(logs, "biopsy") {
		t.Errorf("logs carry an address or content:\n%s", logs)
	}
}

func TestNoMethodDefersAndSendsNothing(t *testing.T) {
	f := newFixture(t, []string{MethodPGP, MethodSMIME}, nil, nil)
	out := f.c.Deliver(context.Background(), delivery("nothing@example.net"))
	if len(out) != 1 || !errors.Is(out[0].Err, errNoMethod) || out[0].Permanent {
		t.Fatalf("outcome %+v, want a temporary no-method failure", out)
	}
	if n := len(f.next.sent()); n != 0 {
		t.Fatalf("next got %d deliveries, want none", n)
	}
}

func TestTLSFailureWithoutPortalNeverSendsPlain(t *testing.T) {
	f := newFixture(t, []string{MethodPGP, MethodTLS}, nil, nil)
	f.next.reply = noVerifyAt("nothing@example.net")
	out := f.c.Deliver(context.Background(), delivery("nothing@example.net"))
	if !errors.Is(out[0].Err, errNoMethod) {
		t.Fatalf("outcome %+v, want no-method failure", out[0])
	}
	for _, s := range f.next.sent() {
		if s.TLS < mail.TLSAuthenticated {
			t.Fatalf("message handed on without authenticated TLS: %+v", s.TLS)
		}
	}
}

func TestOrderIsRespected(t *testing.T) {
	f := newFixture(t, []string{MethodSMIME, MethodPortal, MethodPGP}, nil, nil)
	f.c.Deliver(context.Background(), delivery("pgp@example.net", "smime@example.net"))
	if got := f.next.sent(); len(got) != 1 || len(got[0].Rcpts) != 1 || got[0].Rcpts[0] != "smime@example.net" {
		t.Fatalf("next got %+v, want the S/MIME copy only", got)
	}
	if ns := f.spool.notices(); len(ns) != 1 || ns[0].To[0] != "pgp@example.net" || !bytes.Contains(ns[0].Body, []byte("/m/")) {
		t.Error("pgp@ should go to the portal: portal comes before pgp in this order")
	}
	if f.count(MethodSMIME) != 1 || f.count(MethodPortal) != 1 || f.count(MethodPGP) != 0 {
		t.Errorf("counts smime=%v portal=%v pgp=%v", f.count(MethodSMIME), f.count(MethodPortal), f.count(MethodPGP))
	}
}

// A notification the spool refuses leaves no item behind (nobody would
// hold its link) and defers the recipient: the hand-off is tried again.
func TestNotificationNotSpooledRemovesPortalItem(t *testing.T) {
	f := newFixture(t, []string{MethodPortal}, nil, nil)
	f.spool.err = errors.New("queue: closed")
	out := f.c.Deliver(context.Background(), delivery("pat@example.net"))
	if !errors.Is(out[0].Err, errPortal) || out[0].Permanent {
		t.Fatalf("outcome %+v, want a temporary portal failure", out[0])
	}
	if f.store.Len() != 0 {
		t.Errorf("portal store keeps %d items for a notification never spooled", f.store.Len())
	}
	if n := len(f.next.sent()); n != 0 {
		t.Errorf("next got %d deliveries; the notification only goes through the spool", n)
	}
}

// A hand-off done again (a crash after the notification was spooled but
// before the outcome was recorded) leaves one item: only the latest link
// works.
func TestRetriedPortalHandOffLeavesOneItem(t *testing.T) {
	f := newFixture(t, []string{MethodPortal}, nil, nil)
	for range 2 {
		if out := f.c.Deliver(context.Background(), delivery("pat@example.net")); out[0].Err != nil {
			t.Fatal(out[0].Err)
		}
	}
	if f.store.Len() != 1 {
		t.Fatalf("store holds %d items, want 1", f.store.Len())
	}
	got := f.spool.notices()
	first, second := linkRE.FindSubmatch(got[0].Body), linkRE.FindSubmatch(got[1].Body)
	if _, err := f.store.Get(context.Background(), string(first[1])); !errors.Is(err, portalbox.ErrNotFound) {
		t.Errorf("first link still works: %v", err)
	}
	if _, err := f.store.Get(context.Background(), string(second[1])); err != nil {
		t.Errorf("second link: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := New(Config{Next: &fakeNext{}, Order: []string{"pgp", "carrier-pigeon"}}); err == nil {
		t.Error("unknown method accepted")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("missing next courier accepted")
	}
	f := newFixture(t, nil, nil, nil)
	if _, err := New(Config{Next: &fakeNext{}, Portal: f.store, Notices: f.spool}); err == nil {
		t.Error("portal without base URL accepted")
	}
	if _, err := New(Config{Next: &fakeNext{}, Portal: f.store, Notice: Notice{BaseURL: "https://p.example.org"}}); err == nil {
		t.Error("portal without a spool for its notifications accepted")
	}
}

// The tls method asks for authenticated transport by default; only
// Config.AcceptPKIX (encryption.tls_accept_pkix) lowers that to a
// PKIX-verified certificate.
func TestTLSMethodLevel(t *testing.T) {
	for _, accept := range []bool{false, true} {
		f := newFixture(t, []string{MethodTLS}, nil, nil)
		f.c.cfg.AcceptPKIX = accept
		f.c.Deliver(context.Background(), delivery("tls@example.net"))
		want := map[bool]mail.TLSLevel{false: mail.TLSAuthenticated, true: mail.TLSVerify}[accept]
		if got := f.next.sent(); len(got) != 1 || got[0].TLS != want {
			t.Errorf("accept_pkix=%v: sent %+v, want one delivery at level %d", accept, got, want)
		}
	}
}

// The outcome (and so the audit record) says how the copy was encrypted.
func TestEncryptionRecorded(t *testing.T) {
	f := newFixture(t, []string{MethodPGP, MethodSMIME}, nil, nil)
	out := f.c.Deliver(context.Background(), delivery("pgp@example.net", "smime@example.net"))
	if out[0].Encryption != "openpgp" || out[1].Encryption != "aes-256-cbc" {
		t.Errorf("encryption %q, %q; want openpgp, aes-256-cbc", out[0].Encryption, out[1].Encryption)
	}
}
