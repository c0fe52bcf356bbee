package queue

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

// auditRec records the audit events the queue sends.
type auditRec struct {
	mu       sync.Mutex
	accepted []mail.Envelope
	results  []string
}

func (a *auditRec) Accepted(env *mail.Envelope) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.accepted = append(a.accepted, *env)
}

func (a *auditRec) Delivery(env *mail.Envelope, o mail.Outcome, _ int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.results = append(a.results, env.Origin+":"+map[bool]string{true: "ok", false: "deferred"}[o.Err == nil])
}

func (a *auditRec) seen() ([]mail.Envelope, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]mail.Envelope(nil), a.accepted...), strings.Join(a.results, ",")
}

// Mail sealgate writes itself enters the spool with its origin, is audited
// on entry, survives a restart, and is retried after a temporary failure
// like any message.
func TestSubmitSpoolsRetriesAndAudits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	down := &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome { return all(d, errors.New("451 try later"), false) }}
	rec := &auditRec{}
	q1 := startQueue(t, dir, down, func(c *Config) { c.Audit = rec })
	id, err := q1.Submit(context.Background(), mail.Generated{Origin: mail.OriginTLSReport, From: "noreply-tlsrpt@gw.example.org",
		To: []string{"tlsrpt@partner.test"}, Body: testMsg(), TLS: mail.TLSMay})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first attempt", func() bool { return len(down.delivered()) >= 1 })
	if err := q1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	acc, _ := rec.seen()
	if len(acc) != 1 || acc[0].ID != id || acc[0].Origin != mail.OriginTLSReport || acc[0].Client != mail.GeneratedClient ||
		acc[0].Policy.Action != "deliver" || acc[0].Policy.PHI || acc[0].Policy.Rule != mail.OriginTLSReport {
		t.Fatalf("audited on entry: %+v", acc)
	}
	d := down.delivered()[0]
	if d.TLS != mail.TLSMay || d.From != "noreply-tlsrpt@gw.example.org" || d.Domain != "partner.test" {
		t.Fatalf("delivery %+v", d)
	}

	up := &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	q2 := startQueue(t, dir, up, func(c *Config) { c.Audit = rec })
	waitFor(t, "delivery after the restart", func() bool { return len(up.delivered()) == 1 && len(q2.List()) == 0 })
	if got := up.delivered()[0]; got.QueueID != id || string(got.Body) != string(testMsg()) {
		t.Fatalf("delivered %s, %d bytes; want %s", got.QueueID, len(got.Body), id)
	}
	if _, results := rec.seen(); !strings.HasPrefix(results, "tlsrpt:deferred") || !strings.HasSuffix(results, "tlsrpt:ok") {
		t.Fatalf("audited attempts %q", results)
	}
}

// A sensitive message (a portal reply) is marked PHI to encrypt and needs
// verified TLS at least; mail without an origin is refused.
func TestSubmitSensitiveAndOrigin(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	defer close(block)
	c := &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome { <-block; return nil }}
	q := startQueue(t, t.TempDir(), c, nil)
	id, err := q.Submit(context.Background(), mail.Generated{Origin: mail.OriginPortalReply, From: "portal@gw.example.org",
		To: []string{"dr@clinic.example"}, Body: testMsg(), Sensitive: true, TLS: mail.TLSMay})
	if err != nil {
		t.Fatal(err)
	}
	info, err := q.Show(id)
	if err != nil {
		t.Fatal(err)
	}
	if info.Client != mail.GeneratedClient || !info.Policy.PHI || info.Policy.Action != "encrypt" || info.Policy.Rule != mail.OriginPortalReply {
		t.Fatalf("sensitive submission: %+v", info)
	}
	waitFor(t, "the attempt", func() bool { return len(c.delivered()) == 1 })
	if d := c.delivered()[0]; d.TLS != mail.TLSVerify || !d.Policy.PHI {
		t.Fatalf("sensitive delivery TLS %v, PHI %v; want TLSVerify and PHI", d.TLS, d.Policy.PHI)
	}
	if _, err := q.Submit(context.Background(), mail.Generated{From: "x@gw.example.org", To: []string{"a@b.test"}, Body: testMsg()}); err == nil {
		t.Fatal("mail without an origin was submitted")
	}
}

// A DSN the queue writes about a bounced message carries its origin
// ("dsn") like every other message sealgate writes, in every audit record
// of its delivery; the bounced message itself has none.
func TestDSNCarriesItsOrigin(t *testing.T) {
	t.Parallel()
	c := &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome {
		if d.From == "" {
			return all(d, nil, false) // the DSN
		}
		return all(d, errors.New("550 5.1.1 no such user"), true)
	}}
	rec := &auditRec{}
	q := startQueue(t, t.TempDir(), c, func(c *Config) { c.Audit = rec })
	if _, err := q.Enqueue(context.Background(), env("gone@example.net"), testMsg()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the DSN delivered", func() bool { _, r := rec.seen(); return strings.Contains(r, mail.OriginDSN+":ok") })
	if _, results := rec.seen(); results != ":deferred,"+mail.OriginDSN+":ok" {
		t.Fatalf("audited deliveries %q; want the bounce without an origin, then the DSN with %q", results, mail.OriginDSN)
	}
}
