package tlsrpt

import (
	"context"
	"errors"
	"fmt"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/mail"
)

// CourierMailer is a Mailer that hands reports to a mail.Courier, one
// Deliver per recipient domain. The gateway passes its outermost courier
// (the one that DKIM-signs what leaves), since RFC 8460 §3 requires mailto
// reports to be DKIM-signed. Delivery is attempted once; a report that
// cannot be delivered waits for the next day's run.
type CourierMailer struct {
	Courier mail.Courier
}

// SendMail implements Mailer.
func (m CourierMailer) SendMail(ctx context.Context, from string, to []string, msg []byte) error {
	byDomain := map[string][]mail.Rcpt{}
	for _, rcpt := range to {
		dom := addr.DomainOf(rcpt)
		if dom == "" {
			return errors.New("tlsrpt: report address without a domain")
		}
		byDomain[dom] = append(byDomain[dom], mail.Rcpt{Addr: rcpt})
	}
	var errs []error
	for dom, rcpts := range byDomain {
		d := &mail.Delivery{QueueID: "tlsrpt-" + randomHex(6), From: from, Domain: dom, Rcpts: rcpts,
			Body: msg, TLS: mail.TLSMay}
		for _, o := range m.Courier.Deliver(ctx, d) {
			if o.Err != nil {
				errs = append(errs, fmt.Errorf("tlsrpt: report not delivered: %w", o.Err))
			}
		}
	}
	return errors.Join(errs...)
}
