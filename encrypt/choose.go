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
	reasonTLSKnownNot  = "authenticated TLS known unavailable at the destination (last delivery)"
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

// forcedMethod is the method a policy rule forced for d. The queue does not
// carry the rule's method to couriers yet, so every message follows
// encryption.order.
func forcedMethod(d *mail.Delivery) string { return d.Policy.Method }

// choose returns the first method in order that is possible for addr (at
// domain) and not in tried; method "" when there is none. why, if set,
// explains the move from an earlier method and becomes the reason. The tls
// method is passed over, with that as the reason, when the delivery side
// knows that domain's last delivery could not have the TLS it requires.
func (c *Courier) choose(ctx context.Context, order []string, addr, domain string, tried map[string]bool, why string) choice {
	for _, m := range order {
		if tried[m] {
			continue
		}
		if m == MethodTLS && c.tlsKnownUnavailable(domain) {
			if why == "" {
				why = reasonTLSKnownNot
			}
			c.m.fallbacks.WithLabelValues(MethodTLS).Inc()
			continue
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
		}
		return ch
	}
	return choice{reason: reasonNoMethod}
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

// tlsKnownUnavailable reports whether the delivery side knows that domain
// cannot take mail at the level the tls method requires.
func (c *Courier) tlsKnownUnavailable(domain string) bool {
	return c.cfg.Destinations != nil && domain != "" &&
		c.cfg.Destinations.Reach(domain, c.tlsLevel()) == mail.ReachNo
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
