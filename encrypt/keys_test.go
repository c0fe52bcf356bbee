package encrypt

import (
	"bytes"
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sealgate/sealgate/encrypt/pgp"
	"github.com/sealgate/sealgate/mail"
)

// Bad keys and certificates are skipped with a log line naming the file
// and why; their recipients are protected by the next method.
func TestBadKeysAndCertsSkippedWithLogLine(t *testing.T) {
	expired := newPGPKey(t, "expired@example.net", 3600) // created 48 h before t0
	keys := map[string][]byte{"expired.asc": armoredPublic(t, expired), "garbage.asc": []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n")}
	certs := map[string][]byte{
		"expired.pem":   certPEM(newCert(t, "oldcert@example.net", t0.Add(-time.Minute), x509.ExtKeyUsageEmailProtection)),
		"wrongeku.pem":  certPEM(newCert(t, "server@example.net", t0.Add(time.Hour), x509.ExtKeyUsageServerAuth)),
		"garbage.pem":   []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		"not-a-pem.txt": []byte("hello"),
	}
	f := newFixture(t, nil, keys, certs)
	logs := f.logs.String()
	for _, want := range []string{"file=expired.asc", "reason=expired", "file=garbage.asc", "file=expired.pem",
		"file=wrongeku.pem", "emailProtection", "file=garbage.pem", "file=not-a-pem.txt"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	rcpts := []string{"expired@example.net", "oldcert@example.net", "server@example.net"}
	out := f.c.Deliver(context.Background(), delivery(rcpts...))
	got := f.next.sent()
	if len(got) != 1 || len(got[0].Rcpts) != 3 || got[0].TLS != mail.TLSAuthenticated {
		t.Fatalf("want one authenticated-TLS delivery to all three, got %+v", got)
	}
	for _, o := range out {
		if o.Err != nil {
			t.Errorf("%s: %v", o.Rcpt, o.Err)
		}
	}
}

// fakeWKD publishes one key.
type fakeWKD struct {
	addr  string
	key   *openpgp.Entity
	calls int
}

func (w *fakeWKD) Lookup(_ context.Context, addr string) (*openpgp.Entity, error) {
	w.calls++
	if addr == w.addr {
		return w.key, nil
	}
	return nil, pgp.ErrNotFound
}

func TestWKDKeyUsedAfterKeyring(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	key := newPGPKey(t, "wkd@example.net", 0)
	wkd := &fakeWKD{addr: "wkd@example.net", key: key}
	f.c.cfg.WKD = wkd
	f.c.Deliver(context.Background(), delivery("wkd@example.net", "pgp@example.net"))
	got := f.next.sent()
	if len(got) != 2 {
		t.Fatalf("next got %d deliveries, want 2", len(got))
	}
	plain := pgpPlain(t, got[0].Body, key)
	if !bytes.Contains(plain, []byte("carcinoma")) {
		t.Error("WKD recipient's copy does not decrypt to the message")
	}
	if wkd.calls != 1 {
		t.Errorf("WKD asked %d times; the keyring should answer for pgp@", wkd.calls)
	}
	if !strings.Contains(f.logs.String(), `reason="OpenPGP key published by WKD"`) {
		t.Error("WKD reason not logged")
	}
}

func TestForcedMethodOrder(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	for forced, want := range map[string]string{"": "pgp smime tls portal", "tls": "tls portal", "pgp": "pgp portal",
		"portal": "portal", "bogus": "pgp smime tls portal"} {
		if got := strings.Join(f.c.orderFor(forced), " "); got != want {
			t.Errorf("orderFor(%q) = %q, want %q", forced, got, want)
		}
	}
	// A forced pgp without a key goes to the portal, not to TLS.
	ch := f.c.choose(context.Background(), f.c.orderFor(MethodPGP), "nokey@example.net", nil, map[string]bool{}, "")
	if ch.method != MethodPortal {
		t.Errorf("forced pgp without a key chose %q", ch.method)
	}
}

// The queue calls the courier from several workers at once.
func TestConcurrentDeliveries(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	f.next.reply = noVerifyAt("nothing@example.net")
	const workers = 8
	done := make(chan []mail.Outcome, workers)
	for i := range workers {
		go func() {
			d := delivery("pgp@example.net", "smime@example.net", "tls@example.net", "nothing@example.net")
			d.QueueID = "Q" + string(rune('A'+i))
			done <- f.c.Deliver(context.Background(), d)
		}()
	}
	for range workers {
		for _, o := range <-done {
			if o.Err != nil {
				t.Errorf("%s: %v", o.Rcpt, o.Err)
			}
		}
	}
	for _, m := range []string{MethodPGP, MethodSMIME, MethodTLS, MethodPortal} {
		if f.count(m) != workers {
			t.Errorf("%s count = %v, want %d", m, f.count(m), workers)
		}
	}
	if f.store.Len() != workers {
		t.Errorf("portal store holds %d items, want %d", f.store.Len(), workers)
	}
}
