package smtpd

import (
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// AUTH LOGIN, which go-sasl no longer serves, works after STARTTLS and
// fails with the same fixed reply as PLAIN.
func TestAuthLoginMechanism(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, err := smtp.DialStartTLS(h.subm, h.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewLoginClient("marketing", "wrong password")); smtpCode(err) != 535 {
		t.Fatalf("wrong LOGIN password: %v, want 535", err)
	}
	if err := c.Auth(sasl.NewLoginClient("marketing", testPassword)); err != nil {
		t.Fatalf("AUTH LOGIN: %v", err)
	}
	if err := send(c, "news@news.example.org", "x@example.net", message("news@news.example.org", "x@example.net", "hi")); err != nil {
		t.Fatalf("send after AUTH LOGIN: %v", err)
	}
	if h.q.count() != 1 || h.q.envs[0].AuthUser != "marketing" {
		t.Fatal("message after AUTH LOGIN not queued as marketing")
	}
}
