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
	env, err := q.submit(g, nil, func(env *mail.Envelope) error {
		_, err := q.Enqueue(ctx, env, g.Body)
		return err
	})
	if err != nil {
		return "", err
	}
	return env.ID, nil
}

// submit is the one way into the spool for every message sealgate writes
// itself, Submit's and the queue's own DSNs: the envelope made from g
// (then completed by adjust, when set, with what only the queue knows),
// written by write, and the audit log told with its origin.
func (q *Queue) submit(g mail.Generated, adjust func(*mail.Envelope), write func(*mail.Envelope) error) (*mail.Envelope, error) {
	if g.Origin == "" {
		return nil, errors.New("queue: generated mail without an origin")
	}
	env := &mail.Envelope{From: g.From, Client: mail.GeneratedClient, Origin: g.Origin, TLS: g.TLS, RequireTLS: g.RequireTLS,
		Policy: mail.PolicySummary{Action: mail.ActionDeliver, Rule: g.Origin}}
	if g.Sensitive {
		env.Policy = mail.PolicySummary{PHI: true, Action: mail.ActionEncrypt, Rule: g.Origin}
		env.TLS = max(env.TLS, mail.TLSVerify)
	}
	for _, to := range g.To {
		env.Rcpts = append(env.Rcpts, mail.Rcpt{Addr: to})
	}
	if adjust != nil {
		adjust(env)
	}
	if err := write(env); err != nil {
		return nil, err
	}
	if q.cfg.Audit != nil {
		q.cfg.Audit.Accepted(env)
	}
	return env, nil
}
