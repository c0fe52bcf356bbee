package encrypt

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"slices"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sealgate/sealgate/encrypt/pgp"
	"github.com/sealgate/sealgate/mail"
)

// Reasons recorded with a recipient's method. They are fixed texts: no
// address, key material or content.
const (
	reasonNotNeeded    = "message needs no protection"
	reasonPGPKeyring   = "OpenPGP key in keyring"
	reasonPGPWKD       = "OpenPGP key published by WKD"
	reasonSMIMECert    = "S/MIME certificate in store"
	reasonTLSNoKey     = "no usable key or certificate; authenticated TLS required"
	reasonTLSFirst     = "authenticated TLS comes first in the order"
	reasonPortalNoMeth = "no other method possible"
	reasonTLSFailed    = "authenticated TLS not available at the destination"
	reasonTLSKnownNot  = "authenticated TLS known unavailable at the destination"
	reasonTLSLookedUp  = "authenticated TLS not available at the destination (looked up: "
	reasonLookupFailed = "the destination's transport security could not be looked up; deferred"
	reasonPGPFailed    = "OpenPGP encryption failed"
	reasonSMIMEFailed  = "S/MIME encryption failed"
	reasonNoMethod     = "no protection method possible"
)

// choice is the method chosen for one recipient, why, and what it needs.
type choice struct {
	method string
	reason string
	key    *openpgp.Entity   // pgp
	cert   *x509.Certificate // smime
	// encryption is what sendEncrypted used (Outcome.Encryption).
	encryption string
	// failed, with no method, is the failed lookup of the destination
	// that leaves the recipient deferred (or bounced, for a domain that
	// does not exist) instead of protected.
	failed *mail.Finding
}

// orderFor is the order for a message whose policy rule forced a method
// ("" when none did): the forced method, then the portal, so that a forced
// method that cannot be had still never means plaintext.
func (c *Courier) orderFor(forced string) []string {
	if forced == "" || !slices.Contains(DefaultOrder(), forced) {
		return c.cfg.Order
	}
	if forced == MethodPortal {
		return []string{MethodPortal}
	}
	return []string{forced, MethodPortal}
}

// forcedMethod is the method a policy rule forced for d ("" when none did),
// carried from the verdict in the message's policy summary.
func forcedMethod(d *mail.Delivery) string { return string(d.Policy.Method) }

// choose returns the first method in order that is possible for addr and
// not in tried; method "" when there is none. why, if set, explains the
// move from an earlier method and becomes the reason. Before the tls
// method, what the delivery side knows or finds out of the destination
// (dest) decides: a destination that cannot authenticate its next hop is
// passed over, with that as the reason; one whose lookup failed leaves
// the recipient deferred, never sent on an answer nobody verified.
func (c *Courier) choose(ctx context.Context, order []string, addr string, dest *destination, tried map[string]bool, why string) choice {
	for _, m := range order {
		if tried[m] {
			continue
		}
		var f mail.Finding
		if m == MethodTLS {
			f = dest.find(ctx)
			if f.Err != nil {
				return choice{reason: reasonLookupFailed, failed: &f}
			}
			if f.Reach == mail.ReachNo {
				if why == "" {
					why = tlsUnavailable(f)
				}
				c.m.fallbacks.WithLabelValues(MethodTLS).Inc()
				continue
			}
		}
		ch, ok := c.possible(ctx, order, m, addr)
		if !ok {
			continue
		}
		switch {
		case why != "" && ch.method == MethodConsent:
			ch.reason = reasonConsent + "; " + why
		case why != "":
			ch.reason = why
		case f.Reach == mail.ReachYes && f.Basis != "":
			ch.reason += " (destination: " + f.Basis + ")"
		}
		return ch
	}
	return choice{reason: reasonNoMethod}
}

// tlsUnavailable is the reason for passing over the tls method for a
// destination f says cannot have it.
func tlsUnavailable(f mail.Finding) string {
	switch {
	case f.LookedUp:
		return reasonTLSLookedUp + f.Basis + ")"
	case f.Basis != "":
		return reasonTLSKnownNot + " (" + f.Basis + ")"
	}
	return reasonTLSKnownNot
}

// destination is what a run learnt of its domain's transport security at
// the level the tls method needs: asked of Config.Destinations once per
// run, when the tls method is first considered for one of its recipients.
type destination struct {
	c      *Courier
	domain string
	asked  bool
	f      mail.Finding
}

// find returns what the delivery side knows or finds out of the
// destination; nothing known without Config.Destinations.
func (d *destination) find(ctx context.Context) mail.Finding {
	if d == nil || d.c.cfg.Destinations == nil || d.domain == "" {
		return mail.Finding{}
	}
	if !d.asked {
		d.asked, d.f = true, d.c.cfg.Destinations.Find(ctx, d.domain, d.c.tlsLevel())
	}
	return d.f
}

// possible says whether method m can protect addr.
func (c *Courier) possible(ctx context.Context, order []string, m, addr string) (choice, bool) {
	switch m {
	case MethodPGP:
		return c.pgpKey(ctx, addr)
	case MethodSMIME:
		if c.cfg.Certs == nil {
			return choice{}, false
		}
		cert, ok := c.cfg.Certs.Lookup(addr, c.cfg.Now())
		return choice{method: MethodSMIME, reason: reasonSMIMECert, cert: cert}, ok
	case MethodTLS:
		reason := reasonTLSFirst
		i := slices.Index(order, MethodTLS)
		if slices.Contains(order[:i], MethodPGP) || slices.Contains(order[:i], MethodSMIME) {
			reason = reasonTLSNoKey
		}
		return choice{method: MethodTLS, reason: reason}, true
	case MethodPortal:
		return choice{method: MethodPortal, reason: reasonPortalNoMeth}, c.cfg.Portal != nil
	case MethodConsent:
		return choice{method: MethodConsent, reason: reasonConsent}, true
	}
	return choice{}, false
}

// pgpKey looks in the keyring, then in WKD.
func (c *Courier) pgpKey(ctx context.Context, addr string) (choice, bool) {
	if c.cfg.Keyring != nil {
		if e, ok := c.cfg.Keyring.Lookup(addr, c.cfg.Now()); ok {
			return choice{method: MethodPGP, reason: reasonPGPKeyring, key: e}, true
		}
	}
	if c.cfg.WKD == nil {
		return choice{}, false
	}
	e, err := c.cfg.WKD.Lookup(ctx, addr)
	if err != nil {
		if !errors.Is(err, pgp.ErrNotFound) {
			// WKD errors never carry the address.
			c.cfg.Logger.Debug("wkd lookup failed", slog.String("error", err.Error()))
		}
		return choice{}, false
	}
	return choice{method: MethodPGP, reason: reasonPGPWKD, key: e}, e != nil
}
