// Package encrypt protects each recipient of a message on its way from the
// queue to delivery. For a message that needs protection it chooses, per
// recipient and in the configured order, the first possible method:
//
//   - pgp: the recipient has a usable OpenPGP key (keyring folder, then WKD);
//     the recipient gets its own PGP/MIME copy (RFC 3156).
//   - smime: the recipient has a usable S/MIME certificate; its own
//     enveloped-data copy (RFC 8551).
//   - tls: the message goes unchanged but only over authenticated
//     transport: STARTTLS to a next hop whose identity is authenticated end
//     to end (DANE with DNSSEC, an enforced MTA-STS policy listing the MX
//     host, or a route or smarthost the operator declared trusted). A
//     PKIX-valid certificate for an MX name from unauthenticated DNS is
//     opportunistic and not enough, unless Config.AcceptPKIX says so.
//     What the delivery side knows or finds out of the destination
//     (Config.Destinations) decides first: a destination that cannot
//     offer it sends the recipient to the next method without a
//     connection, and one whose lookup failed leaves it deferred. If a
//     connection shows the destination cannot offer it, the recipient
//     moves to the next method in the same attempt instead of waiting.
//   - portal: the message is stored encrypted in the portal store and a notification
//     without PHI, with a link to pick it up, enters the spool for the
//     recipient (Config.Notices).
//
// A recipient who consented to unencrypted mail after being warned
// (Config.Consents, read at every attempt) gets the message unchanged over
// the best TLS the destination offers (MethodConsent) in the portal's
// place; the outcome names the consent. When the order has no portal, the
// consent is the last method, so a consenting recipient's mail leaves over
// TLS where it would otherwise be deferred: intended, the patient asked
// for it (TestConsentInsteadOfDeferral).
//
// Otherwise PHI never falls back to plaintext: when no method is possible
// the recipient is deferred. Messages that need no protection pass unchanged.
package encrypt

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/encrypt/portalbox"
	"github.com/sealgate/sealgate/encrypt/smime"
	"github.com/sealgate/sealgate/mail"
)

// Protection methods, as named in encryption.order, the metric label and
// the log. MethodNone is for messages that need no protection.
const (
	MethodPGP    = string(mail.MethodPGP)
	MethodSMIME  = string(mail.MethodSMIME)
	MethodTLS    = string(mail.MethodTLS)
	MethodPortal = string(mail.MethodPortal)
	MethodNone   = string(mail.MethodNone)
)

// DefaultOrder is the order used when Config.Order is empty.
func DefaultOrder() []string {
	return []string{MethodPGP, MethodSMIME, MethodTLS, MethodPortal}
}

// PGPKeys finds a recipient's OpenPGP key in a local keyring
// (*pgp.Keyring implements it).
type PGPKeys interface {
	Lookup(addr string, now time.Time) (*openpgp.Entity, bool)
}

// WKDKeys finds a recipient's OpenPGP key published by its domain
// (*pgp.WKDClient implements it).
type WKDKeys interface {
	Lookup(ctx context.Context, addr string) (*openpgp.Entity, error)
}

// SMIMECerts finds a recipient's S/MIME certificate (*smime.CertStore
// implements it).
type SMIMECerts interface {
	Lookup(addr string, now time.Time) (*x509.Certificate, bool)
}

// Config configures a Courier. Nil sources make their method impossible.
type Config struct {
	// Order is tried per recipient; default DefaultOrder().
	Order []string
	// Keyring and WKD are the OpenPGP key sources, in that order.
	Keyring PGPKeys
	WKD     WKDKeys
	// PGPArchive, if set, can also decrypt every PGP message; PGPSigner, if
	// set (with its secret key decrypted), signs inside the encryption.
	PGPArchive *openpgp.Entity
	PGPSigner  *openpgp.Entity
	// Certs are the recipients' S/MIME certificates; SMIMESigner, if set,
	// signs inside the envelope. smime.Init must have been called.
	Certs       SMIMECerts
	SMIMESigner *smime.Signer
	// AcceptPKIX lets the tls method protect a recipient over a
	// PKIX-verified certificate alone, even for an MX name that came from
	// unauthenticated DNS (encryption.tls_accept_pkix). Default false: the
	// next hop must be authenticated end to end (mail.TLSAuthenticated).
	AcceptPKIX bool
	// Destinations, if set, is what the delivery side knows, or finds out
	// before connecting, of each destination's transport security, asked
	// once per message when the tls method comes up: the tls method is
	// not chosen for a domain unable to provide it, so the recipient goes
	// to the next method at once, with that reason in the audit log; a
	// domain whose lookup failed leaves the recipient deferred.
	Destinations mail.Destinations
	// Portal receives messages for pickup; nil disables the portal method.
	Portal portalbox.Store
	// Consents, if set, is the register of patients' consents to
	// unencrypted mail, read per recipient at every attempt: a recipient
	// with a consent in force gets the message unchanged (MethodConsent)
	// where the portal would come, and a revocation applies from the next
	// attempt on. Nil, or a register that cannot be read, changes nothing.
	Consents Consents
	// Subject is the neutral outer Subject of PGP and S/MIME messages.
	Subject string
	// Notice shapes the portal notification.
	Notice Notice
	// Notices takes each portal notification into the spool (the queue,
	// through the wiring); required with Portal.
	Notices mail.Submitter
	// Next delivers what this courier produces.
	Next mail.Courier
	// Logger gets one line per recipient: queue ID, method, reason, result.
	Logger *slog.Logger
	// Registerer, if set, gets sealgate_encrypted_total and
	// sealgate_encrypt_fallbacks_total.
	Registerer prometheus.Registerer
	// Now is the clock for key validity and portal expiry; default time.Now.
	Now func() time.Time
}

// Courier is a mail.Courier that protects each recipient, then hands the
// result to Config.Next. It is safe for concurrent use.
type Courier struct {
	cfg Config
	m   *metrics
}

// New checks cfg and returns a Courier.
func New(cfg Config) (*Courier, error) {
	if cfg.Next == nil {
		return nil, errors.New("encrypt: no next courier")
	}
	if len(cfg.Order) == 0 {
		cfg.Order = DefaultOrder()
	}
	for _, m := range cfg.Order {
		if !slices.Contains(DefaultOrder(), m) {
			return nil, fmt.Errorf("encrypt: unknown method %q in order", m)
		}
	}
	if slices.Contains(cfg.Order, MethodPortal) && cfg.Portal != nil && cfg.Notice.BaseURL == "" {
		return nil, errors.New("encrypt: the portal method needs a base URL for its links")
	}
	if cfg.Portal != nil && cfg.Notices == nil {
		return nil, errors.New("encrypt: the portal method needs a spool for its notifications")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Notice = cfg.Notice.withDefaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Courier{cfg: cfg, m: m}, nil
}

// tlsLevel is the transport the tls method needs.
func (c *Courier) tlsLevel() mail.TLSLevel {
	if c.cfg.AcceptPKIX {
		return mail.TLSVerify
	}
	return mail.TLSAuthenticated
}

// NeedsProtection reports whether d must be protected. The queue marks a
// message with PHI, or one the policy wants encrypted, by requiring
// verified TLS (smtpd raises Delivery.TLS to TLSVerify for them).
func NeedsProtection(d *mail.Delivery) bool {
	return d.Policy.PHI || d.Policy.Action == mail.ActionEncrypt || d.Policy.Method != ""
}

// Deliver implements mail.Courier.
func (c *Courier) Deliver(ctx context.Context, d *mail.Delivery) []mail.Outcome {
	if !NeedsProtection(d) {
		out := c.cfg.Next.Deliver(ctx, d)
		for _, o := range out {
			c.record(d.QueueID, choice{method: MethodNone, reason: reasonNotNeeded}, o)
		}
		return out
	}
	r := newRun(ctx, c, d)
	r.do()
	return r.outcomes()
}

// record logs one recipient's method, reason and result, and counts it
// when the next hop accepted it. It never logs the address.
func (c *Courier) record(qid string, ch choice, o mail.Outcome) {
	result := o.Result()
	if result == mail.ResultDelivered {
		c.m.encrypted.WithLabelValues(ch.method).Inc()
	}
	attrs := []any{slog.String("queue_id", qid), slog.String("method", ch.method),
		slog.String("reason", ch.reason), slog.String("result", string(result))}
	if o.Err != nil {
		attrs = append(attrs, slog.String("error", o.Err.Error()))
	}
	level := slog.LevelInfo
	if ch.method == MethodNone {
		level = slog.LevelDebug // ordinary mail: one line per recipient would be noise
	}
	c.cfg.Logger.Log(context.Background(), level, "protection", attrs...)
}
