// Package dsn builds delivery status notifications (RFC 3464) for mail that
// sealgate could not deliver, or has not delivered yet.
//
// A notification is a multipart/report (RFC 6522) with three parts: fixed
// human-readable text, the machine-readable message/delivery-status, and the
// returned original. Because the original may carry protected health
// information, the notification never repeats its Subject or any of its
// body in the outer headers or the text part, and by default (Ret "HDRS")
// returns only the original's header section as text/rfc822-headers; the
// complete message is returned as message/rfc822 only when Ret is "FULL"
// (the client asked for RET=FULL, RFC 3461 §4.3).
//
// Every value that came from outside (remote server replies, ORCPT, ENVID)
// is sanitised: control characters and line breaks are removed and lengths
// capped, so a hostile reply cannot inject header fields.
//
// The result is 7-bit unless the returned original has 8-bit content (it then
// needs 8BITMIME) or an address is non-ASCII: then the RFC 6533 types
// message/global-delivery-status and message/global-headers or
// message/global are used, and the notification must be sent with SMTPUTF8.
package dsn

import (
	"errors"
	"fmt"
	"time"
)

// Report describes one notification to the envelope sender of a message.
type Report struct {
	// ReportingMTA is sealgate's host name (Reporting-MTA: dns; ...).
	ReportingMTA string
	// EnvID is the xtext-decoded ENVID the client gave, if any.
	EnvID string
	// ArrivalDate is when the message was accepted.
	ArrivalDate time.Time
	// QueueID identifies the message in sealgate's queue; it is reported
	// as X-Sealgate-Queue-ID so operators can find the message.
	QueueID string
	// From is the notification's From address; empty means
	// postmaster@ReportingMTA. It is shown as "Mail Delivery System".
	From string
	// To is the original envelope sender. Empty (the null reverse-path)
	// is an error: no notification is ever sent for a notification.
	To string
	// Recipients are the recipients this notification reports on.
	Recipients []Recipient
	// Original is the original message with CRLF line endings.
	Original []byte
	// Ret is "FULL" to return the whole original, or "HDRS" (the default
	// when empty) to return only its header section: safer for PHI.
	Ret string
	// Delay makes this a delay warning ("Delayed mail") rather than a
	// failure notice ("Undelivered mail").
	Delay bool
	// Date is the notification's Date; zero means now.
	Date time.Time
	// MessageID is the notification's Message-ID without angle brackets;
	// empty means a random ID at ReportingMTA. A queue that may rebuild a
	// notification after a crash can pass a stable ID.
	MessageID string
}

// Recipient is the per-recipient part of a report (RFC 3464 §2.3).
type Recipient struct {
	// Addr is the recipient as sealgate tried to deliver it
	// (Final-Recipient).
	Addr string
	// ORCPT is the xtext-decoded ORCPT parameter ("rfc822;user@example.org"),
	// if the client gave one (Original-Recipient). Without an address type,
	// rfc822 is assumed.
	ORCPT string
	// Action is failed, delayed, delivered, relayed or expanded; empty
	// means failed, or delayed in a delay warning.
	Action string
	// Status is the enhanced status code, such as "5.1.1" (RFC 3463).
	Status string
	// RemoteMTA is the host name or IP address of the server that gave
	// the Diagnostic, if any (Remote-MTA: dns; ...).
	RemoteMTA string
	// Diagnostic is the remote server's reply, such as
	// "smtp; 550 5.1.1 no such user", or, of type LocalType, sealgate's
	// own reason for a failure it decided itself; without a "type;"
	// prefix smtp is assumed. It is sanitised and capped before use.
	Diagnostic string
	// LastAttempt is when delivery was last tried; zero omits the field.
	LastAttempt time.Time
}

// LocalType is the diagnostic type (RFC 3464 §2.3.6, an X- type) of a
// Diagnostic that is sealgate's own reason, not a remote reply.
const LocalType = "x-sealgate"

// Errors returned by Build, usable with errors.Is.
var (
	// ErrNullSender: the report's To is empty; a message with the null
	// reverse-path never gets a notification (RFC 5321 §6.1).
	ErrNullSender = errors.New("dsn: no notification for the null sender")
	// ErrNoRecipients: the report has no recipients.
	ErrNoRecipients = errors.New("dsn: no recipients to report")
	// ErrInvalid: a field of the report is malformed.
	ErrInvalid = errors.New("dsn: invalid report")
)

// Build returns a complete RFC 5322 notification message with CRLF line
// endings: a multipart/report; report-type=delivery-status with a fixed
// human-readable part, a message/delivery-status part and the returned
// original (text/rfc822-headers for HDRS, message/rfc822 for FULL). The
// outer header has a fixed Subject ("Undelivered mail" or "Delayed mail"),
// never the original's, and Auto-Submitted: auto-replied (RFC 3834).
func Build(r Report) ([]byte, error) {
	n, err := prepare(r)
	if err != nil {
		return nil, err
	}
	msg, err := compose(n)
	if err != nil {
		return nil, fmt.Errorf("dsn: %w", err)
	}
	return msg, nil
}
