package dkim

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mailtext"
)

// TestHostileHeaders runs the shared table of hostile headers through the
// signer, From set to a domain it has a key for. Sign makes line endings
// CRLF first (what goes on the wire); a header that then reads is signed
// and verifies, any other is refused with ErrMalformed, which quotes
// nothing of the message.
func TestHostileHeaders(t *testing.T) {
	f := getFixture(t)
	courier := &Courier{Signer: f.signer, Next: &capture{}}
	signed := 0
	for _, c := range hostile.Headers() {
		msg := bytes.ReplaceAll(c.Msg, []byte("amy@clinic.example"), []byte("billing@example-clinic.org"))
		_, perr := mailtext.ParseHeader(mailtext.ToCRLF(msg))
		out, err := f.signer.Sign(msg)
		switch {
		case perr != nil:
			if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "Harriet") || out != nil {
				t.Errorf("%s: Sign = %v; want ErrMalformed", c.Name, err)
			}
			checkBounced(t, c.Name, courier, msg)
		case err != nil:
			t.Errorf("%s: the CRLF form reads, yet Sign: %v", c.Name, err)
		default:
			signed++
			vs := f.verify(t, out)
			if len(vs) != 1 || vs[0].Err != nil {
				t.Errorf("%s: signed but does not verify: %+v", c.Name, vs)
			}
		}
	}
	if signed != 2 { // the two bare-LF cases, which CRLF mends
		t.Errorf("%d hostile messages signed, want 2", signed)
	}
}

// checkBounced: the courier bounces each recipient of msg at once
// (permanent, status mail.StatusUnreadable, an error that quotes nothing of the
// message) rather than deferring it until it expires, and hands nothing on.
func checkBounced(t *testing.T, name string, c *Courier, msg []byte) {
	t.Helper()
	next := c.Next.(*capture)
	next.got = nil
	d := &mail.Delivery{Body: msg, Rcpts: []mail.Rcpt{{Addr: "dr@example.net"}, {Addr: "lab@example.net"}}}
	out := c.Deliver(context.Background(), d)
	if len(out) != 2 {
		t.Fatalf("%s: %d outcomes", name, len(out))
	}
	for _, o := range out {
		if !errors.Is(o.Err, ErrMalformed) || !o.Permanent || o.Enhanced != mail.StatusUnreadable ||
			o.Result() != mail.ResultBounced || strings.Contains(o.Err.Error(), "Harriet") ||
			mail.LocalReason(o.Err) != "the message header cannot be read, so it cannot be signed (DKIM)" {
			t.Errorf("%s: outcome %+v, want bounced with %s", name, o, mail.StatusUnreadable)
		}
	}
	if next.got != nil {
		t.Errorf("%s: handed on unsigned", name)
	}
}
