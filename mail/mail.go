// Package mail is the vocabulary sealgate's stages use to speak about a
// message on its way out: a delivery to the recipients of one domain, each
// recipient with its DSN parameters, the outcome per recipient, the ordered
// transport-security requirement, and the summary of the policy's verdict.
//
// It is a leaf: it imports no other package of sealgate, so smtpd, the
// queue, encrypt, dkim, delivery, tlsrpt and the audit log can share these
// words without importing one another. The queue keeps the spool; it hands
// deliveries to a Courier and records the Outcomes it gets back.
package mail

import (
	"context"
	"time"
)

// Courier hands a message to the next hop. The queue calls Deliver with
// recipients that share one destination domain; the courier chooses the route
// (MX, per-domain route or smarthost), the transport security and the
// connection. Implementations must be safe for concurrent use.
type Courier interface {
	Deliver(ctx context.Context, d *Delivery) []Outcome
}

// Delivery is one attempt to hand a message to the recipients of one domain.
type Delivery struct {
	QueueID string
	// From is the envelope sender; "" is the null reverse-path (bounces).
	From string
	// Domain is the recipients' domain (ASCII/A-label form, lower case).
	Domain string
	// Client is the configured client that submitted the message; "" for
	// mail sealgate wrote itself.
	Client string
	Rcpts  []Rcpt
	// Body is the complete message as it goes on the wire: CRLF line
	// endings, no dot-stuffing.
	Body []byte
	// ESMTP parameters the submitting client asked for; they travel on.
	SMTPUTF8   bool
	EightBit   bool   // BODY=8BITMIME
	RequireTLS bool   // RFC 8689
	Ret        string // DSN RET: "", "FULL" or "HDRS"
	EnvID      string // DSN ENVID (xtext-decoded)
	// TLS is the minimum transport security this delivery needs.
	TLS TLSLevel
	// Policy is the verdict that decided how the message leaves: the
	// protection layer encrypts when Policy.Action is "encrypt" (always so
	// for PHI) and honours a forced Policy.Method.
	Policy PolicySummary
}

// Rcpt is one recipient of a Delivery, with its DSN parameters (RFC 3461).
type Rcpt struct {
	Addr   string
	Notify []string // NEVER, SUCCESS, FAILURE, DELAY; empty = default
	ORCPT  string   // original recipient, "rfc822;addr" form, may be ""
}

// TLSLevel is an ordered transport-security requirement: a higher value is
// stricter, and rules may only raise it.
type TLSLevel int

// Transport-security levels, weakest first.
const (
	TLSNone    TLSLevel = iota // plaintext allowed, STARTTLS not attempted
	TLSMay                     // STARTTLS when offered, certificate not checked
	TLSEncrypt                 // STARTTLS required, certificate not checked
	TLSVerify                  // STARTTLS required with a verified certificate
	// TLSAuthenticated: STARTTLS required and the next hop's identity
	// authenticated end to end — DANE with DNSSEC, an enforced MTA-STS
	// policy listing the MX host, or a destination pinned in the
	// configuration. A PKIX-valid certificate for an MX name from
	// unauthenticated DNS is not enough: whoever forges the MX answer can
	// show a valid certificate for a host of their own.
	TLSAuthenticated
)

// ConsentBasis names a recipient's consent to unencrypted mail: the
// register's ID, when the patient consented and through which channel
// (portal, paper, phone, ...). It holds no warning text and no address.
type ConsentBasis struct {
	ID      string    `json:"id"`
	At      time.Time `json:"time"`
	Channel string    `json:"channel"`
}

// Outcome is the result of a Delivery for one recipient.
type Outcome struct {
	Rcpt string
	// Err is nil when the next hop accepted the recipient and the message.
	Err error
	// Permanent marks Err as a permanent failure (5xx, null MX, bad address):
	// the recipient is bounced, not retried.
	Permanent bool
	// Code and Enhanced are the remote reply ("550", "5.1.1"), when there was one.
	Code     int
	Enhanced string
	// RemoteMTA is the host that answered (for the DSN's Remote-MTA field).
	RemoteMTA string
	// TLSVersion is "TLS1.2", "TLS1.3" or "" for plaintext; TLSCipher is
	// the cipher suite's name.
	TLSVersion string
	TLSCipher  string
	// Verified says the peer's certificate was verified; Verification
	// names how: "dane", "mta-sts" or "pinned" (the next hop's identity
	// authenticated end to end), "pkix" (a valid certificate for a name
	// that may have come from unauthenticated DNS: opportunistic), or
	// "none" (plaintext, or a certificate that did not verify); "" when
	// no connection was made.
	Verified     bool
	Verification string
	// Method is how the recipient was protected (pgp, smime, tls, portal,
	// none) and MethodReason why that method was chosen; set by the
	// protection layer.
	Method       string
	MethodReason string
	// Encryption is the content protection of a pgp or smime copy:
	// "openpgp", "aes-256-gcm" (S/MIME AuthEnvelopedData) or "aes-256-cbc"
	// (S/MIME EnvelopedData), with "+signed" when signed inside; "" for
	// other methods.
	Encryption string
	// Consent is the recorded consent a MethodConsent copy left
	// unencrypted under; nil for every other method.
	Consent *ConsentBasis
	// Notice is the queue ID of the portal notification spooled for the
	// recipient (a message of its own, origin portal_notice); "" for other
	// methods. The audit log records it, so the notification's own
	// delivery can be joined to the recipient's evidence.
	Notice string
	// DSNPassed says the next hop announced DSN and took the recipient
	// with its NOTIFY (and ORCPT, RET, ENVID) parameters: notifications
	// from here on are the next hop's to send (RFC 3461 §4.2, §6.2), so
	// sealgate sends no success DSN of its own for this recipient.
	DSNPassed bool
	Duration  time.Duration
	// Paced, when set, says the recipient was not tried at all: the
	// gateway's own traffic shaping held it until then (Err is a
	// temporary failure for those that do not know). The queue retries it
	// at that time and counts no delivery attempt.
	Paced time.Time
}

// PolicySummary records the policy verdict: detector names and counts only,
// never matched values.
type PolicySummary struct {
	PHI    bool   `json:"phi"`
	Action Action `json:"action"`
	Method Method `json:"method,omitempty"`
	Rule   string `json:"rule,omitempty"`
	// Rules names every rule that matched, in order; Rule is the one
	// that decided.
	Rules   []string `json:"rules,omitempty"`
	Reasons []string `json:"reasons,omitempty"` // "detector×count"
}
