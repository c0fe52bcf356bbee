package encrypt

import (
	"context"
	"errors"
	"log/slog"

	"github.com/sealgate/sealgate/mail"
)

// errNoMethod is the temporary failure of a recipient no method can
// protect: it stays queued (a key may appear) and is never sent in clear.
var errNoMethod = errors.New("encrypt: no protection method possible for this recipient")

// run is the protection of one Delivery: per-recipient state across the
// rounds of choosing and sending.
type run struct {
	ctx   context.Context
	c     *Courier
	d     *mail.Delivery
	order []string
	rcpts []*rcptState
	dest  destination // what is known of d.Domain's transport security
}

// rcptState is one recipient's progress.
type rcptState struct {
	rcpt    mail.Rcpt
	order   []string           // the run's order, or this recipient's own with a consent
	consent *mail.ConsentBasis // the consent in force, if any
	note    string             // added to the final reason (consent register unreadable)
	tried   map[string]bool    // methods that failed in this attempt
	why     string             // reason for the move from the last failed method
	choice  choice
	done    bool
	out     mail.Outcome
}

func newRun(ctx context.Context, c *Courier, d *mail.Delivery) *run {
	r := &run{ctx: ctx, c: c, d: d, order: c.orderFor(forcedMethod(d)), dest: destination{c: c, domain: d.Domain}}
	for _, rc := range d.Rcpts {
		p := &rcptState{rcpt: rc, order: r.order, tried: map[string]bool{}}
		r.consentFor(p)
		r.rcpts = append(r.rcpts, p)
	}
	return r
}

// do chooses and sends in rounds: a recipient whose method fails in a way
// that allows moving on (verified TLS refused, encryption error) is chosen
// for again with that method excluded. Each round excludes at least one
// method per pending recipient, so there are at most len(order)+1 rounds
// (a recipient's own order with a consent is no longer than the run's
// plus one).
func (r *run) do() {
	for round := 0; round <= len(r.order)+1; round++ {
		pending := r.pending()
		if len(pending) == 0 {
			return
		}
		r.round(pending)
	}
	for _, p := range r.pending() {
		r.finish(p, mail.Outcome{Rcpt: p.rcpt.Addr, Err: errNoMethod, Enhanced: "4.7.5"})
	}
}

// round chooses a method for each pending recipient and sends: one
// delivery for all verified-TLS recipients, one per encrypted or portal
// recipient.
func (r *run) round(pending []*rcptState) {
	var tlsGroup, consentGroup []*rcptState
	for _, p := range pending {
		p.choice = r.c.choose(r.ctx, p.order, p.rcpt.Addr, &r.dest, p.tried, p.why)
		switch p.choice.method {
		case "":
			if f := p.choice.failed; f != nil {
				r.finish(p, mail.Outcome{Err: f.Err, Permanent: f.Permanent, Enhanced: f.Enhanced})
				continue
			}
			r.finish(p, mail.Outcome{Rcpt: p.rcpt.Addr, Err: errNoMethod, Enhanced: "4.7.5"})
		case MethodTLS:
			tlsGroup = append(tlsGroup, p)
		case MethodConsent:
			consentGroup = append(consentGroup, p)
		}
	}
	if len(tlsGroup) > 0 {
		r.sendTLS(tlsGroup)
	}
	if len(consentGroup) > 0 {
		r.sendConsent(consentGroup)
	}
	for _, p := range pending {
		switch {
		case p.done:
		case p.choice.method == MethodPGP || p.choice.method == MethodSMIME:
			r.sendEncrypted(p)
		case p.choice.method == MethodPortal:
			r.sendPortal(p)
		}
	}
}

func (r *run) pending() []*rcptState {
	var out []*rcptState
	for _, p := range r.rcpts {
		if !p.done {
			out = append(out, p)
		}
	}
	return out
}

// finish records p's final outcome for this attempt.
func (r *run) finish(p *rcptState, o mail.Outcome) {
	o.Rcpt = p.rcpt.Addr
	o.Method, o.MethodReason, o.Encryption = p.choice.method, p.choice.reason, p.choice.encryption
	if p.choice.method == MethodConsent {
		o.Consent = p.consent
	}
	if p.note != "" {
		o.MethodReason += "; " + p.note
	}
	p.out, p.done = o, true
	r.c.record(r.d.QueueID, p.choice, o)
}

// fallback marks p's current method as failed for this attempt.
func (r *run) fallback(p *rcptState, why string) {
	m := p.choice.method
	p.tried[m], p.why = true, why
	r.c.m.fallbacks.WithLabelValues(m).Inc()
	r.c.cfg.Logger.Info("protection fallback", slog.String("queue_id", r.d.QueueID),
		slog.String("from", m), slog.String("reason", why))
}

// outcomes returns the outcomes in the Delivery's recipient order.
func (r *run) outcomes() []mail.Outcome {
	out := make([]mail.Outcome, len(r.rcpts))
	for i, p := range r.rcpts {
		out[i] = p.out
	}
	return out
}

// sub is a copy of the Delivery for some recipients, with another body
// and transport requirement.
func (r *run) sub(ps []*rcptState, body []byte, level mail.TLSLevel) *mail.Delivery {
	d := *r.d
	d.Rcpts = make([]mail.Rcpt, len(ps))
	for i, p := range ps {
		d.Rcpts[i] = p.rcpt
	}
	d.Body, d.TLS = body, level
	return &d
}

// protectedLevel is the transport requirement for a message whose content
// is already protected (encrypted, or a notification without PHI): the
// destination's own policy applies, unless the client asked for
// REQUIRETLS, which stays.
func (r *run) protectedLevel() mail.TLSLevel {
	if r.d.RequireTLS {
		return r.d.TLS
	}
	return mail.TLSNone
}

// send delivers sd and returns the outcomes in the order of ps; a
// recipient without an outcome gets a temporary failure.
func (r *run) send(ps []*rcptState, sd *mail.Delivery) []mail.Outcome {
	got := map[string]mail.Outcome{}
	for _, o := range r.c.cfg.Next.Deliver(r.ctx, sd) {
		got[o.Rcpt] = o
	}
	res := make([]mail.Outcome, len(ps))
	for i, p := range ps {
		o, ok := got[p.rcpt.Addr]
		if !ok {
			o = mail.Outcome{Err: errors.New("encrypt: no outcome from the next hop")}
		}
		res[i] = o
	}
	return res
}

// sendTLS delivers the message unchanged to ps with authenticated
// transport required (mail.TLSAuthenticated: DANE, enforced MTA-STS or a
// trusted configured destination), or a PKIX-verified certificate when
// the operator accepts that (Config.AcceptPKIX). A recipient whose
// destination cannot offer it moves on to the next method instead of
// being deferred.
func (r *run) sendTLS(ps []*rcptState) {
	sd := r.sub(ps, r.d.Body, max(r.d.TLS, r.c.tlsLevel()))
	for i, o := range r.send(ps, sd) {
		p := ps[i]
		if tlsFailure(o.Err) {
			r.fallback(p, reasonTLSFailed)
			continue
		}
		r.finish(p, o)
	}
}

// tlsFailure reports whether err says the required TLS could not be had.
func tlsFailure(err error) bool { return errors.Is(err, mail.ErrTLSUnavailable) }
