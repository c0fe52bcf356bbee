package main

import (
	"bytes"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
)

// submitRequireTLS sends one message with the REQUIRETLS MAIL parameter.
func submitRequireTLS(t *testing.T, e *env, to, msg string) {
	t.Helper()
	c, err := smtp.DialStartTLS(e.smtpAt, &tls.Config{RootCAs: e.ca.Pool(), ServerName: "gw.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "marketing", e2ePassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("news@news.example.org", &smtp.MailOptions{RequireTLS: true}); err != nil {
		t.Fatalf("MAIL REQUIRETLS: %v", err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(msg))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// REQUIRETLS asked of sealgate travels to a verified next hop that offers
// it (RFC 8689).
func TestRequireTLSTravelsToNextHop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{sink: smtpsink.Options{RequireTLS: true}})
	submitRequireTLS(t, e, "pat@example.net", newsMessage("rt1@news.example.org", "pat@example.net", "hello"))
	msgs, err := e.sink.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !msgs[0].TLS || msgs[0].MailOpts == nil || !msgs[0].MailOpts.RequireTLS {
		t.Fatalf("next hop got tls=%v mailopts=%+v, want REQUIRETLS over TLS", msgs[0].TLS, msgs[0].MailOpts)
	}
}

// A next hop that does not offer REQUIRETLS never gets the message: the
// sender gets a DSN instead (RFC 8689 §5, 5.7.30).
func TestRequireTLSBouncesWithoutSupport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	submitRequireTLS(t, e, "pat@example.net", newsMessage("rt2@news.example.org", "pat@example.net", "hello"))
	msgs, err := e.sink.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dsn := msgs[0]
	if dsn.From != "" || len(dsn.Rcpts) != 1 || dsn.Rcpts[0] != "news@news.example.org" {
		t.Fatalf("want a DSN to the sender, got from=%q to=%v", dsn.From, dsn.Rcpts)
	}
	if !bytes.Contains(dsn.Data, []byte("Status: 5.7.30")) || strings.Contains(string(dsn.Data), "\r\n\r\nhello\r\n") {
		t.Errorf("DSN lacks 5.7.30 or carries the body:\n%s", dsn.Data)
	}
}
