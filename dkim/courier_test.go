package dkim

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

type capture struct{ got []byte }

func (c *capture) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	c.got = d.Body
	return []mail.Outcome{{Rcpt: d.Rcpts[0].Addr}}
}

func TestCourierSignsBeforeHandingOn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyPath, _, err := Keygen("clinic.example.org", "s1", "ed25519", dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner([]KeyConfig{{Domain: "clinic.example.org", Selector: "s1", KeyPath: keyPath}})
	if err != nil {
		t.Fatal(err)
	}
	next := &capture{}
	c := &Courier{Signer: s, Next: next}
	body := []byte("From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: x\r\n\r\nhi\r\n")
	out := c.Deliver(context.Background(), &mail.Delivery{Body: body, Rcpts: []mail.Rcpt{{Addr: "dr@example.net"}}})
	if len(out) != 1 || out[0].Err != nil {
		t.Fatalf("outcome %+v", out)
	}
	if !bytes.HasPrefix(next.got, []byte("DKIM-Signature:")) || !bytes.Contains(next.got, []byte("d=clinic.example.org")) {
		t.Fatalf("not signed:\n%s", next.got)
	}
	bad := &mail.Delivery{Body: []byte("no header at all"), Rcpts: []mail.Rcpt{{Addr: "dr@example.net"}}}
	if out := c.Deliver(context.Background(), bad); !errors.Is(out[0].Err, ErrMalformed) || !out[0].Permanent ||
		out[0].Enhanced != mail.StatusUnreadable {
		t.Fatalf("unsignable message: %+v, want a permanent failure", out[0])
	}
	noFrom := &mail.Delivery{Body: []byte("To: dr@example.net\r\n\r\nhi\r\n"), Rcpts: []mail.Rcpt{{Addr: "dr@example.net"}}}
	if out := c.Deliver(context.Background(), noFrom); !errors.Is(out[0].Err, ErrNoFrom) || !out[0].Permanent ||
		!strings.Contains(mail.LocalReason(out[0].Err), "no single From") {
		t.Fatalf("message without From: %+v, want a permanent failure", out[0])
	}
}
