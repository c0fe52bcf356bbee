package unsubscribe

import (
	"context"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/mail"
)

// Courier adds the one-click unsubscribe fields to marketing mail, one
// copy per recipient (each carries its own token), and hands each copy to
// Next — the DKIM signer, so the signature covers the fields. Other mail,
// and bounces (null sender), pass unchanged.
type Courier struct {
	Tokens  *Tokens
	BaseURL string // the portal's, e.g. https://secure.example.org
	// Mailto, when set, is offered as a second way to unsubscribe; the
	// token is in the subject.
	Mailto string
	// Marketing says whether the named client sends campaigns.
	Marketing func(client string) bool
	Next      mail.Courier
}

// Deliver implements mail.Courier.
func (c *Courier) Deliver(ctx context.Context, d *mail.Delivery) []mail.Outcome {
	domain := addr.DomainOf(d.From)
	if domain == "" || !c.Marketing(d.Client) {
		return c.Next.Deliver(ctx, d)
	}
	var out []mail.Outcome
	for _, r := range d.Rcpts {
		token := c.Tokens.Make(domain, r.Addr)
		one := *d
		one.Rcpts = []mail.Rcpt{r}
		body, err := AddHeaders(d.Body, Link(c.BaseURL, token), c.Mailto, token)
		if err != nil {
			// Never sent without sealgate's own unsubscribe link, nor
			// with one a header it cannot read might contradict.
			out = append(out, mail.Outcome{Rcpt: r.Addr, Permanent: true, Enhanced: mail.StatusUnreadable,
				Err: &mail.LocalError{Err: err, Reason: "the message header cannot be read, so no unsubscribe link can be added"}})
			continue
		}
		one.Body = body
		out = append(out, c.Next.Deliver(ctx, &one)...)
	}
	return out
}
