package queue

import "github.com/sealgate/sealgate/mail"

// The queue speaks the mail vocabulary. These aliases let the queue's own
// code use the short names; packages outside the queue use package mail
// directly (see docs/architecture.md), and so does new code in the queue.
type (
	// Courier is mail.Courier.
	Courier = mail.Courier
	// Delivery is mail.Delivery.
	Delivery = mail.Delivery
	// Rcpt is mail.Rcpt.
	Rcpt = mail.Rcpt
	// TLSLevel is mail.TLSLevel.
	TLSLevel = mail.TLSLevel
	// Outcome is mail.Outcome.
	Outcome = mail.Outcome
	// PolicySummary is mail.PolicySummary.
	PolicySummary = mail.PolicySummary
	// Envelope is mail.Envelope, the spool's envelope record.
	Envelope = mail.Envelope
)
