package dkim

import (
	"context"

	"github.com/sealgate/sealgate/mail"
)

// Courier signs every message on its way to the next hop: it sits last,
// after any encryption, so the signature covers the bytes on the wire.
type Courier struct {
	Signer *Signer
	Next   mail.Courier
}

// Deliver signs d.Body for its From domain (unchanged when no key is
// configured for it) and hands it on. A message that cannot be signed is
// deferred, never sent unsigned against the configuration.
func (c *Courier) Deliver(ctx context.Context, d *mail.Delivery) []mail.Outcome {
	signed, err := c.Signer.Sign(d.Body)
	if err != nil {
		out := make([]mail.Outcome, len(d.Rcpts))
		for i, r := range d.Rcpts {
			out[i] = mail.Outcome{Rcpt: r.Addr, Err: err}
		}
		return out
	}
	out := *d
	out.Body = signed
	return c.Next.Deliver(ctx, &out)
}
