package mail

// Action is what the policy decided for a message. The values are the
// words of the configuration (policy rules' then.action) and of the audit
// log.
type Action string

// The policy's actions.
const (
	// ActionDeliver sends the message as it is, over the transport
	// security the destination offers.
	ActionDeliver Action = "deliver"
	// ActionEncrypt protects the message per recipient (encryption.order).
	ActionEncrypt Action = "encrypt"
	// ActionQuarantine keeps the message held until an operator decides.
	ActionQuarantine Action = "quarantine"
	// ActionBlock refuses the message.
	ActionBlock Action = "block"
)

// Method is how a recipient's copy is protected. The values are the words
// of the configuration (encryption.order, a rule's then.method), of
// Outcome.Method and of the audit log.
type Method string

// The protection methods, and none.
const (
	MethodPGP    Method = "pgp"    // OpenPGP (PGP/MIME)
	MethodSMIME  Method = "smime"  // S/MIME
	MethodTLS    Method = "tls"    // the message as it is, over authenticated TLS
	MethodPortal Method = "portal" // left for pickup, the recipient notified
	MethodNone   Method = "none"   // the message needed no protection
	// MethodConsent: the message as it is, over the best TLS the
	// destination offers, because the recipient consented to unencrypted
	// mail after being warned (Outcome.Consent names the consent). It is
	// never configured: the protection layer uses it in the portal's place
	// for a recipient with a consent in force.
	MethodConsent Method = "consent"
)

// Verification is how a delivery's next hop was verified
// (Outcome.Verification).
type Verification string

// How the next hop was verified, strongest first.
const (
	VerifiedDANE   Verification = "dane"    // TLSA match, DNSSEC-signed (RFC 7672)
	VerifiedMTASTS Verification = "mta-sts" // PKIX for an MX host an enforced MTA-STS policy lists (RFC 8461)
	VerifiedPinned Verification = "pinned"  // PKIX for a trusted route or smarthost named in the configuration
	VerifiedPKIX   Verification = "pkix"    // PKIX for a name that may come from unauthenticated DNS
	VerifiedNone   Verification = "none"    // plaintext, or a certificate that did not verify
)

// Authenticated reports whether v authenticates the next hop end to end
// (DANE, MTA-STS or a pinned hop): what mail.TLSAuthenticated requires.
func (v Verification) Authenticated() bool {
	return v == VerifiedDANE || v == VerifiedMTASTS || v == VerifiedPinned
}

// Result is how one delivery attempt ended for one recipient, as the
// queue's metrics, the encryptor's log and the audit log name it.
type Result string

// The results of an attempt.
const (
	ResultDelivered Result = "delivered" // the next hop took it
	ResultBounced   Result = "bounced"   // a permanent failure: not retried
	ResultDeferred  Result = "deferred"  // a temporary failure: tried again later
)

// Result classifies o: delivered without an error, bounced on a permanent
// failure, deferred on any other.
func (o Outcome) Result() Result {
	switch {
	case o.Err == nil:
		return ResultDelivered
	case o.Permanent:
		return ResultBounced
	}
	return ResultDeferred
}
