package encrypt

import (
	"context"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

// discard accepts everything.
type discard struct{}

func (discard) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	out := make([]mail.Outcome, len(d.Rcpts))
	for i, r := range d.Rcpts {
		out[i] = mail.Outcome{Rcpt: r.Addr}
	}
	return out
}

// message100KB is a PHI message of about 100 KB: headers, text and a
// base64 attachment.
func message100KB() []byte {
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 3)[:76] + "\r\n"
	att := strings.Repeat(line, 100*1024/len(line))
	return []byte(strings.Replace(phiMessage, "PSA,7.9\r\n", "PSA,7.9\r\n--b1\r\nContent-Type: application/pdf\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n"+att, 1))
}

// BenchmarkProtect100KB protects a 100 KB message for one recipient with
// each method, up to the hand-off to the next courier (which discards). The
// portal case includes encrypting and the fsynced write to the store.
func BenchmarkProtect100KB(b *testing.B) {
	msg := message100KB()
	cases := []struct{ name, rcpt string }{
		{MethodPGP, "pgp@example.net"}, {MethodSMIME, "smime@example.net"},
		{MethodTLS, "tls@example.net"}, {MethodPortal, "tls@example.net"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			order := []string{MethodPGP, MethodSMIME, MethodTLS}
			if tc.name == MethodPortal {
				order = []string{MethodPortal}
			}
			f := newFixture(b, order, nil, nil)
			f.c.cfg.Next = discard{}
			d := delivery(tc.rcpt)
			d.Body = msg
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if out := f.c.Deliver(context.Background(), d); out[0].Err != nil {
					b.Fatal(out[0].Err)
				}
			}
			if f.count(tc.name) == 0 {
				b.Fatalf("method %s was not used", tc.name)
			}
		})
	}
}
