package verp

import (
	"context"
	"strings"
	"time"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/mail"
)

// Recipient is what a bounce address refers to: the recipient of one
// message and the domain it was sent from.
type Recipient struct {
	Ref     string    `json:"ref"`
	QueueID string    `json:"queue_id"`
	Domain  string    `json:"domain"` // the original envelope sender's domain, lower case
	Address string    `json:"address"`
	Client  string    `json:"client"`
	At      time.Time `json:"at"`
}

// Memory remembers recipients under their references (the shared store),
// durably, before the mail that names them leaves.
type Memory interface {
	RememberRecipients(ctx context.Context, rs []Recipient) error
}

// Courier gives the mail of the clients Use selects a bounce address per
// recipient as its envelope sender, one copy per recipient, and hands each
// copy to Next. The recipients are remembered first; when that fails, the
// copy keeps its original return path (bounces then go to the sender, as
// without VERP) and Failed is called. Mail with the null sender passes
// unchanged.
type Courier struct {
	Addresses *Addresses
	Memory    Memory
	Use       func(client string) bool
	Failed    func(queueID string, err error)
	Next      mail.Courier
}

// Deliver implements mail.Courier.
func (c *Courier) Deliver(ctx context.Context, d *mail.Delivery) []mail.Outcome {
	domain := addr.DomainOf(d.From)
	if domain == "" || !c.Use(d.Client) {
		return c.Next.Deliver(ctx, d)
	}
	paths := make([]string, len(d.Rcpts))
	rs := make([]Recipient, 0, len(d.Rcpts))
	now := time.Now().UTC()
	for i, r := range d.Rcpts {
		path, ref, err := c.Addresses.Address(d.QueueID, r.Addr)
		if err != nil {
			rs = nil
			c.Failed(d.QueueID, err)
			break
		}
		paths[i] = path
		rs = append(rs, Recipient{Ref: ref, QueueID: d.QueueID, Domain: domain, Address: strings.ToLower(r.Addr), Client: d.Client, At: now})
	}
	if rs != nil {
		if err := c.Memory.RememberRecipients(ctx, rs); err != nil {
			rs = nil
			c.Failed(d.QueueID, err)
		}
	}
	if rs == nil {
		return c.Next.Deliver(ctx, d)
	}
	var out []mail.Outcome
	for i, r := range d.Rcpts {
		one := *d
		one.From = paths[i]
		one.Rcpts = []mail.Rcpt{r}
		out = append(out, c.Next.Deliver(ctx, &one)...)
	}
	return out
}
