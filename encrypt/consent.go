package encrypt

import (
	"context"
	"log/slog"
	"slices"

	"github.com/sealgate/sealgate/mail"
)

// MethodConsent is the method of a recipient who consented to unencrypted
// mail: the message unchanged, over the best TLS the destination offers.
const MethodConsent = string(mail.MethodConsent)

// Reasons recorded for consent.
const (
	reasonConsent           = "recipient consented to unencrypted mail"
	reasonConsentUnreadable = "consent register unreadable: protected as without consent"
)

// Consents is the register of patients' consents to unencrypted mail. ok
// is false when addr has no consent in force; an error means the register
// could not be read.
type Consents interface {
	Consent(ctx context.Context, addr string) (basis mail.ConsentBasis, ok bool, err error)
}

// consentApplies reports whether a consent may change how d leaves: only
// mail the policy lets go (deliver or encrypt), never held or refused
// mail, and not when a rule forced a method — the organisation's explicit
// choice stands.
func consentApplies(d *mail.Delivery) bool {
	switch mail.Action(d.Policy.Action) {
	case mail.ActionDeliver, mail.ActionEncrypt, "":
	default:
		return false
	}
	return d.Policy.Method == ""
}

// consentFor looks up p's consent at this attempt (so a revocation stops
// it for every later attempt) and, when one is in force, gives p its own
// order: the consent takes the portal's place, after the methods that
// encrypt or authenticate the path. A register that cannot be read leaves
// p protected as without consent, with that as the reason.
func (r *run) consentFor(p *rcptState) {
	if r.c.cfg.Consents == nil || !consentApplies(r.d) {
		return
	}
	basis, ok, err := r.c.cfg.Consents.Consent(r.ctx, p.rcpt.Addr)
	if err != nil {
		// The error may name the store, never the address.
		r.c.cfg.Logger.Warn("consent register unreadable", slog.String("queue_id", r.d.QueueID),
			slog.String("error_type", "store"))
		r.c.m.consentErrors.Inc()
		p.note = reasonConsentUnreadable
		return
	}
	if !ok {
		return
	}
	order := slices.DeleteFunc(slices.Clone(r.order), func(m string) bool { return m == MethodPortal })
	p.order, p.consent = append(order, MethodConsent), &basis
}

// sendConsent delivers the message unchanged to ps over the best TLS the
// destination offers: STARTTLS whenever it is offered, even to a domain
// whose configured policy is "none" (TLSMay at least), DANE and MTA-STS
// where published, the client's REQUIRETLS kept. Each outcome names its
// consent.
func (r *run) sendConsent(ps []*rcptState) {
	sd := r.sub(ps, r.d.Body, max(r.protectedLevel(), mail.TLSMay))
	for i, o := range r.send(ps, sd) {
		r.finish(ps[i], o)
	}
}
