package dkim

import (
	"context"
	"errors"

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
// never sent unsigned against the configuration: one whose header does not
// read, or has no single From, is bounced at once (status 5.6.0, the
// message itself at fault: another attempt would read the same bytes),
// any other failure is retried.
func (c *Courier) Deliver(ctx context.Context, d *mail.Delivery) []mail.Outcome {
	signed, err := c.Signer.Sign(d.Body)
	if err != nil {
		perm := errors.Is(err, ErrMalformed) || errors.Is(err, ErrNoFrom)
		if perm {
			err = &mail.LocalError{Err: err, Reason: unsignableReason(err)}
		}
		out := make([]mail.Outcome, len(d.Rcpts))
		for i, r := range d.Rcpts {
			out[i] = mail.Outcome{Rcpt: r.Addr, Err: err, Permanent: perm}
			if perm {
				out[i].Enhanced = mail.StatusUnreadable
			}
		}
		return out
	}
	out := *d
	out.Body = signed
	return c.Next.Deliver(ctx, &out)
}

// unsignableReason is the reason the DSN gives for a message that cannot
// be signed; it quotes nothing of the message.
func unsignableReason(err error) string {
	if errors.Is(err, ErrNoFrom) {
		return "the message has no single From field to sign it for (DKIM)"
	}
	return "the message header cannot be read, so it cannot be signed (DKIM)"
}
