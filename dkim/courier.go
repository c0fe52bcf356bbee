package dkim

import (
	"context"

	"github.com/sealgate/sealgate/queue"
)

// Courier signs every message on its way to the next hop: it sits last,
// after any encryption, so the signature covers the bytes on the wire.
type Courier struct {
	Signer *Signer
	Next   queue.Courier
}

// Deliver signs d.Body for its From domain (unchanged when no key is
// configured for it) and hands it on. A message that cannot be signed is
// deferred, never sent unsigned against the configuration.
func (c *Courier) Deliver(ctx context.Context, d *queue.Delivery) []queue.Outcome {
	signed, err := c.Signer.Sign(d.Body)
	if err != nil {
		out := make([]queue.Outcome, len(d.Rcpts))
		for i, r := range d.Rcpts {
			out[i] = queue.Outcome{Rcpt: r.Addr, Err: err}
		}
		return out
	}
	out := *d
	out.Body = signed
	return c.Next.Deliver(ctx, &out)
}
