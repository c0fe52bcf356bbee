package queue

import (
	"context"
	"errors"

	"github.com/sealgate/sealgate/mail"
)

// Submit puts a message that sealgate wrote into the spool, durably, and
// returns its queue ID. The policy summary says why it leaves as it does
// (no scan: sealgate knows what it wrote), with the origin as the rule.
func (q *Queue) Submit(ctx context.Context, g mail.Generated) (string, error) {
	if g.Origin == "" {
		return "", errors.New("queue: generated mail without an origin")
	}
	env := &mail.Envelope{From: g.From, Client: mail.GeneratedClient, Origin: g.Origin, TLS: g.TLS, RequireTLS: g.RequireTLS,
		Policy: mail.PolicySummary{Action: string(mail.ActionDeliver), Rule: g.Origin}}
	if g.Sensitive {
		env.Policy = mail.PolicySummary{PHI: true, Action: string(mail.ActionEncrypt), Rule: g.Origin}
		env.TLS = max(env.TLS, mail.TLSVerify)
	}
	for _, to := range g.To {
		env.Rcpts = append(env.Rcpts, mail.Rcpt{Addr: to})
	}
	id, err := q.Enqueue(ctx, env, g.Body)
	if err != nil {
		return "", err
	}
	if q.cfg.Audit != nil {
		q.cfg.Audit.Accepted(env)
	}
	return id, nil
}
