package main

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
)

// What the client asked for with DSN (RFC 3461) travels with the message
// to a next hop that offers DSN.
func TestDSNParametersTravel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{sink: smtpsink.Options{DSN: true}})
	c, err := smtp.DialStartTLS(e.smtpAt, &tls.Config{RootCAs: e.ca.Pool(), ServerName: "gw.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "marketing", e2ePassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("news@news.example.org", &smtp.MailOptions{Return: smtp.DSNReturnHeaders, EnvelopeID: "campaign-42"}); err != nil {
		t.Fatal(err)
	}
	rcpt := &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyFailure, smtp.DSNNotifyDelayed},
		OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "pat@example.net"}
	if err := c.Rcpt("pat@example.net", rcpt); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(newsMessage("dsn1@news.example.org", "pat@example.net", "hello")))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.MailOpts == nil || m.MailOpts.Return != smtp.DSNReturnHeaders || m.MailOpts.EnvelopeID != "campaign-42" {
		t.Errorf("MAIL parameters at the next hop: %+v", m.MailOpts)
	}
	if len(m.RcptOpts) != 1 || m.RcptOpts[0] == nil || len(m.RcptOpts[0].Notify) != 2 ||
		m.RcptOpts[0].OriginalRecipient != "pat@example.net" {
		t.Errorf("RCPT parameters at the next hop: %+v", m.RcptOpts)
	}
}
