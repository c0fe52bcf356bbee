package queue

import (
	"context"
	"errors"

	"github.com/sealgate/sealgate/mail"
)

// Origins of the mail sealgate writes itself (Envelope.Origin). DSNs are
// written by the queue itself and marked Envelope.DSN.
const (
	// OriginPortal is a mail of the pickup portal that carries no PHI: a
	// one-time code, a receipt.
	OriginPortal = "portal"
	// OriginPortalReply is a reply written on the portal; it carries PHI.
	OriginPortalReply = "portal_reply"
	// OriginTLSReport is an SMTP TLS report (RFC 8460) sent by mail.
	OriginTLSReport = "tlsrpt"
)

// GeneratedClient is the client name recorded for mail sealgate writes
// itself.
const GeneratedClient = "sealgate"

// Generated is a message that sealgate writes itself. It takes the same
// road as mail a client submits: into the spool, through protection,
// signing and delivery, retried on a temporary failure and audited.
type Generated struct {
	// Origin names what wrote it (OriginPortal and the others); it is
	// recorded in the envelope and the audit log.
	Origin string
	// From is the envelope sender; To the recipients.
	From string
	To   []string
	// Body is the complete message, CRLF line endings.
	Body []byte
	// Sensitive marks a message that carries PHI (a portal reply): it is
	// protected like the message it answers and leaves only over verified
	// TLS or better. Other generated mail is delivered as it is.
	Sensitive bool
	// TLS is the least transport security it needs; Sensitive raises it
	// to mail.TLSVerify.
	TLS mail.TLSLevel
}

// Submit puts a message that sealgate wrote into the spool, durably, and
// returns its queue ID. The policy summary says why it leaves as it does
// (no scan: sealgate knows what it wrote), with the origin as the rule.
func (q *Queue) Submit(ctx context.Context, g Generated) (string, error) {
	if g.Origin == "" {
		return "", errors.New("queue: generated mail without an origin")
	}
	env := &Envelope{From: g.From, Client: GeneratedClient, Origin: g.Origin, TLS: g.TLS,
		Policy: mail.PolicySummary{Action: string(mail.ActionDeliver), Rule: g.Origin}}
	if g.Sensitive {
		env.Policy = mail.PolicySummary{PHI: true, Action: string(mail.ActionEncrypt), Rule: g.Origin}
		env.TLS = max(env.TLS, mail.TLSVerify)
	}
	for _, to := range g.To {
		env.Rcpts = append(env.Rcpts, Rcpt{Addr: to})
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
