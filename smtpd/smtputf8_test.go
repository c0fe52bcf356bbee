package smtpd

import (
	"errors"
	"testing"

	"github.com/emersion/go-smtp"
)

// A non-ASCII address needs SMTPUTF8 (RFC 6531): without it 553 5.6.7,
// with it the message is accepted and marked so the next hop gets it too.
func TestNonASCIIAddressNeedsSMTPUTF8(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.submit(t)
	if err := c.Mail("news@news.example.org", nil); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("josé@example.net", nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 553 || se.EnhancedCode != (smtp.EnhancedCode{5, 6, 7}) {
		t.Fatalf("non-ASCII RCPT without SMTPUTF8: %v, want 553 5.6.7", err)
	}
	c.Reset()
	if err := c.Mail("news@news.example.org", &smtp.MailOptions{UTF8: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("josé@example.net", nil); err != nil {
		t.Fatalf("non-ASCII RCPT with SMTPUTF8: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(message("news@news.example.org", "josé@example.net", "hola")))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if h.q.count() != 1 || !h.q.envs[0].SMTPUTF8 || h.q.envs[0].Rcpts[0].Addr != "josé@example.net" {
		t.Fatalf("queued %d, envelope %+v", h.q.count(), h.q.envs)
	}
}
