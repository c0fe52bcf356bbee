package dkim

import (
	"context"
	"errors"

	"github.com/sealgate/sealgate/mail"
)

// StatusMalformed is the enhanced status (RFC 3463: other media error) of
// a recipient bounced because its message cannot be signed: its header does
// not read or has no single From. The DSN says so and quotes nothing of the
// message.
const StatusMalformed = "5.6.0"

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
			err = unsignable{err}
		}
		out := make([]mail.Outcome, len(d.Rcpts))
		for i, r := range d.Rcpts {
			out[i] = mail.Outcome{Rcpt: r.Addr, Err: err, Permanent: perm}
			if perm {
				out[i].Enhanced = StatusMalformed
			}
		}
		return out
	}
	out := *d
	out.Body = signed
	return c.Next.Deliver(ctx, &out)
}

// unsignable is the error of a message that cannot be signed: it gives the
// DSN its reason (mail.LocalReasoner), which quotes nothing of the message.
type unsignable struct{ error }

func (e unsignable) Unwrap() error { return e.error }

// LocalReason is the reason the DSN gives.
func (e unsignable) LocalReason() string {
	if errors.Is(e.error, ErrNoFrom) {
		return "the message has no single From field to sign it for (DKIM)"
	}
	return "the message header cannot be read, so it cannot be signed (DKIM)"
}
