package smtpd

import (
	"bytes"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/sealgate/sealgate/internal/testenv"
)

// Regression: a relaying MTA's own bounces (MAIL FROM:<>) were refused
// unless the client was allowed every sender. "<>" in allowed_senders
// allows the null sender for that client only.
func TestNullSenderPerClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.Clients[1].AllowedSenders = append(c.Clients[1].AllowedSenders, "<>")
	})
	bounce := "From: MAILER-DAEMON@clinic.example.org\r\nTo: dr@example.net\r\nSubject: Undelivered Mail\r\n\r\nbounce\r\n"
	r := dialRaw(t, h.relay)
	r.send("EHLO mx.clinic.example.org\r\n")
	r.expect("250")
	r.send("MAIL FROM:<>\r\n")
	r.expect("250")
	r.send("RCPT TO:<dr@example.net>\r\nDATA\r\n")
	r.expect("250")
	r.expect("354")
	r.send(bounce + ".\r\n")
	r.expect("250")
	if h.q.count() != 1 || h.q.envs[0].From != "" || h.q.envs[0].Client != "ehr" {
		t.Fatalf("queued %d, envelopes %+v", h.q.count(), h.q.envs)
	}

	// marketing was not allowed the null sender: refused, even with AUTH.
	c := h.submit(t)
	err := c.Mail("", nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) {
		t.Fatalf("null sender from a client not allowed it: %v, want 550 5.7.1", err)
	}
}

// The Received header follows RFC 5321 §4.4: the TLS comment comes before
// the ";" and the date, never after it (obsolete syntax), and an SMTPUTF8
// transaction over TLS with AUTH is "UTF8SMTPSA" (RFC 6531 §3.7.3).
func TestReceivedHeaderSyntax(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.submit(t)
	if err := c.Mail("news@news.example.org", &smtp.MailOptions{UTF8: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("josé@example.net", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(message("news@news.example.org", "josé@example.net", "hola")))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := send(c, "news@news.example.org", "p@example.net", message("news@news.example.org", "p@example.net", "hi")); err != nil {
		t.Fatal(err)
	}
	if h.q.count() != 2 {
		t.Fatalf("queued %d", h.q.count())
	}
	for i, proto := range []string{"UTF8SMTPSA", "ESMTPSA"} {
		body := h.q.bodies[i]
		rcv := string(body[:bytes.Index(body, []byte("\r\nFrom:"))])
		head, date, ok := strings.Cut(rcv, ";")
		if !ok || strings.ContainsAny(date, "()") {
			t.Errorf("comment after the ';' in %q", rcv)
		}
		if !strings.Contains(head, "(using TLS1.") {
			t.Errorf("no TLS comment before the ';' in %q", rcv)
		}
		if !strings.Contains(head, " with "+proto+" id "+h.q.envs[i].ID) {
			t.Errorf("want protocol %s in %q", proto, rcv)
		}
		if !regexp.MustCompile(`^\s+\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$`).MatchString(date) {
			t.Errorf("date part %q", date)
		}
	}
}

// Regression: a header-From rejection and a failed AUTH left no line in the
// operational log. Each refusal is logged with its reason, and no address.
func TestRejectionsAndFailedAuthLogged(t *testing.T) {
	t.Parallel()
	var logs testenv.Buffer
	h := newHarness(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	r := relayHello(t, h)
	r.send("DATA\r\n")
	r.expect("354")
	r.send("From: someone@elsewhere.example\r\nTo: dr@example.net\r\nSubject: x\r\n\r\nx\r\n.\r\n")
	r.expect("550")

	cl, err := smtp.DialStartTLS(h.subm, h.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Auth(sasl.NewPlainClient("", "marketing@news.example.org", "wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	got := logs.String()
	for _, want := range []string{"msg=rejected", "reason=header_from_denied code=550 client=ehr", `msg="authentication failed"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	for _, phi := range []string{"someone@", "dr@example.net", "marketing@news", "wrong"} {
		if strings.Contains(got, phi) {
			t.Errorf("log carries %q:\n%s", phi, got)
		}
	}
}
