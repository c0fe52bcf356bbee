package smtpd

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/mail"
)

func TestAuthenticatedSubmissionQueued(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.submit(t)
	err := send(c, "news@news.example.org", "patient@example.net", message("news@news.example.org", "patient@example.net", "hello"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if h.q.count() != 1 {
		t.Fatalf("queued %d messages, want 1", h.q.count())
	}
	env, body := h.q.envs[0], h.q.bodies[0]
	if env.Client != "marketing" || env.AuthUser != "marketing" || env.From != "news@news.example.org" {
		t.Errorf("envelope: %+v", env)
	}
	if !bytes.HasPrefix(body, []byte("Received: from ")) || !bytes.Contains(body, []byte("with ESMTPSA id "+env.ID)) {
		t.Errorf("no Received header with queue ID:\n%s", body[:min(len(body), 300)])
	}
	if bytes.Contains(body[:bytes.Index(body, []byte("From:"))], []byte("patient@")) {
		t.Error("Received header names the recipient")
	}
	if got := testutil.ToFloat64(h.srv.m.accepted.WithLabelValues("submission")); got != 1 {
		t.Errorf("accepted metric = %v", got)
	}
}

func TestAuthBeforeTLSRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := dialRaw(t, h.subm)
	r.send("EHLO client.test\r\n")
	ehlo := r.expect("250")
	_ = ehlo
	cred := base64.StdEncoding.EncodeToString([]byte("\x00marketing\x00" + testPassword))
	r.send("AUTH PLAIN " + cred + "\r\n")
	line := r.expect("5")
	if !strings.Contains(line, "5.7.") {
		t.Errorf("AUTH before TLS: %q, want a 5.7.x refusal", line)
	}
	r.send("MAIL FROM:<news@news.example.org>\r\n")
	r.expect("530 5.7.0")
}

func TestRelayRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	msg := message("news@news.example.org", "x@example.net", "hi")

	// Identified by TLS but not authenticated: no relay.
	c, err := smtp.DialStartTLS(h.subm, h.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("news@news.example.org", nil); smtpCode(err) != 530 {
		t.Errorf("unauthenticated MAIL: %v, want 530", err)
	}

	// Wrong password: fixed 535 5.7.8.
	c2, err := smtp.DialStartTLS(h.subm, h.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	err = c2.Auth(sasl.NewPlainClient("", "marketing", "wrong"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 535 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 8}) {
		t.Errorf("wrong password: %v, want 535 5.7.8", err)
	}

	// Sender outside allowed_senders, in the envelope and in the header.
	c3 := h.submit(t)
	if err := send(c3, "ceo@clinic.example.org", "x@example.net", msg); smtpCode(err) != 550 {
		t.Errorf("foreign envelope sender: %v, want 550", err)
	}
	c3.Reset()
	if err := send(c3, "news@news.example.org", "x@example.net", message("ceo@clinic.example.org", "x@example.net", "hi")); smtpCode(err) != 550 {
		t.Errorf("foreign header From: %v, want 550", err)
	}
	if h.q.count() != 0 {
		t.Fatalf("%d messages queued, want none", h.q.count())
	}
}

func TestUnknownNetworkRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Clients = c.Clients[:1] }) // no network client
	r := dialRaw(t, h.relay)
	r.send("EHLO client.test\r\n")
	r.expect("250")
	r.send("MAIL FROM:<a@clinic.example.org>\r\n")
	r.expect("530 5.7.0")
}

func TestTooManyAuthFailuresCloses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, err := smtp.DialStartTLS(h.subm, h.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var last error
	for i := 0; i < 4; i++ {
		last = c.Auth(sasl.NewPlainClient("", "marketing", "wrong"))
		if smtpCode(last) != 535 {
			break
		}
	}
	if smtpCode(last) == 535 {
		t.Fatal("fourth failed AUTH still answered: connection should be closed after three")
	}
}

func TestOversizeRefused552(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.MaxMessageBytes = 4096 })
	c := h.submit(t)
	big := message("news@news.example.org", "x@example.net", strings.Repeat("0123456789abcdef\r\n", 1000))
	if err := send(c, "news@news.example.org", "x@example.net", big); smtpCode(err) != 552 {
		t.Fatalf("oversized message: %v, want 552", err)
	}
	if h.q.count() != 0 {
		t.Fatal("oversized message queued")
	}
}

func TestInternalErrorNotEchoed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.q.err = errors.New("open /var/lib/sealgate/spool/secret-path: disk full of PHI")
	c := h.submit(t)
	err := send(c, "news@news.example.org", "x@example.net", message("news@news.example.org", "x@example.net", "hi"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("got %v, want 451", err)
	}
	if strings.Contains(se.Message, "spool") || strings.Contains(se.Message, "PHI") || !strings.Contains(se.Message, "queue ID") {
		t.Errorf("reply leaks internal text or lacks the queue ID: %q", se.Message)
	}
}

func TestRateLimitPerClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.MessagesPerMinute = 1 })
	c := h.submit(t)
	msg := message("news@news.example.org", "x@example.net", "hi")
	if err := send(c, "news@news.example.org", "x@example.net", msg); err != nil {
		t.Fatal(err)
	}
	err := c.Mail("news@news.example.org", nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode[1] != 7 {
		t.Fatalf("second message: %v, want 451 4.7.x", err)
	}
}

func TestImplicitTLSAndNetworkClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, err := smtp.DialTLS(h.implicit, h.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Identified by network (127.0.0.0/8) as "ehr".
	if err := send(c, "lab@clinic.example.org", "dr@example.net", message("lab@clinic.example.org", "dr@example.net", "x")); err != nil {
		t.Fatal(err)
	}
	if h.q.count() != 1 || h.q.envs[0].Client != "ehr" {
		t.Fatalf("want one message from ehr, got %d", h.q.count())
	}
}

func TestRecipientSyntaxRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.submit(t)
	if err := c.Mail("news@news.example.org", nil); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{
		`"x> NOTIFY=SUCCESS ORCPT=rfc822;a@evil.test"@partner.test`,
		"user%evil.test@gw.example.org",
		"evil.test!user@gw.example.org",
		"user@evil.test@gw.example.org",
		"user@[127.0.0.1]",
		"user@example.org.",
	} {
		if err := c.Rcpt(rcpt, nil); smtpCode(err) != 553 {
			t.Errorf("RCPT %q: %v, want 553", rcpt, err)
		}
	}
}

func TestEncryptVerdictRequiresVerifiedTLS(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.Policy = fixedVerdict{Verdict{PolicySummary: mail.PolicySummary{PHI: true, Action: "encrypt"}}}
	})
	c := h.submit(t)
	if err := send(c, "news@news.example.org", "x@example.net", message("news@news.example.org", "x@example.net", "hi")); err != nil {
		t.Fatal(err)
	}
	if h.q.envs[0].TLS != mail.TLSVerify || !h.q.envs[0].Policy.PHI {
		t.Fatalf("PHI message queued with TLS level %v", h.q.envs[0].TLS)
	}
}

func TestPolicyBlock(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.Policy = fixedVerdict{Verdict{PolicySummary: mail.PolicySummary{PHI: true, Action: "block"}}}
	})
	c := h.submit(t)
	err := send(c, "news@news.example.org", "x@example.net", message("news@news.example.org", "x@example.net", "hi"))
	if smtpCode(err) != 550 || h.q.count() != 0 {
		t.Fatalf("blocked message: %v, queued %d", err, h.q.count())
	}
}

func TestSessionLifetime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.SessionLifetime = 300 * time.Millisecond })
	r := helloBeforeTimeout(t, h.relay, "")
	r.closed("421") // waits: the connection is closed once the lifetime ends
}

func TestPolicyQuarantineHoldsMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.Policy = fixedVerdict{Verdict{PolicySummary: mail.PolicySummary{PHI: true, Action: "quarantine"}}}
	})
	c := h.submit(t)
	if err := send(c, "news@news.example.org", "x@example.net", message("news@news.example.org", "x@example.net", "hi")); err != nil {
		t.Fatalf("quarantined message refused: %v", err)
	}
	if h.q.count() != 1 || !h.q.envs[0].Hold {
		t.Fatal("quarantined message not queued on hold")
	}
}

func TestMailLoopRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.submit(t)
	hops := strings.Repeat("Received: from a by b; Fri, 27 Nov 2026 10:00:00 +0000\r\n", maxHops+1)
	err := send(c, "news@news.example.org", "x@example.net", hops+message("news@news.example.org", "x@example.net", "hi"))
	if smtpCode(err) != 554 || h.q.count() != 0 {
		t.Fatalf("looping message: %v, queued %d", err, h.q.count())
	}
}

type recAudit struct {
	mu      sync.Mutex
	reasons []string
}

func (a *recAudit) Accepted(*mail.Envelope) {}
func (a *recAudit) Rejected(client, remote, reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reasons = append(a.reasons, client+"|"+remote+"|"+reason)
}

func TestRejectionsAreAudited(t *testing.T) {
	t.Parallel()
	a := &recAudit{}
	h := newHarness(t, func(c *Config) { c.Audit = a })
	c := h.submit(t)
	if err := c.Mail("ceo@clinic.example.org", nil); smtpCode(err) != 550 {
		t.Fatalf("foreign sender: %v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reasons) != 1 || a.reasons[0] != "marketing|127.0.0.1|sender_denied" {
		t.Fatalf("audit got %q", a.reasons)
	}
}

func TestConnectionRatePerIP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.ConnsPerMinute = 6 }) // burst of 1
	r := dialRaw(t, h.relay)
	r.send("QUIT\r\n")
	c, err := net.Dial("tcp", h.relay)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "421 4.7.0") {
		t.Fatalf("second connection within the burst: %q, want 421 4.7.0", line)
	}
}
