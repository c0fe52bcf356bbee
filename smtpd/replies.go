package smtpd

import (
	"errors"
	"fmt"

	"github.com/sealgate/sealgate/mail"

	"github.com/emersion/go-smtp"
)

// rejection is a refusal with fixed text and a metric reason. Replies to
// clients come only from here: go-smtp sends err.Error() verbatim for any
// other error type, which in a PHI gateway is a leak path.
type rejection struct {
	reason string
	reply  *smtp.SMTPError
}

func (r *rejection) Error() string { return r.reason }

func rej(reason string, code int, class, subject, detail int, text string) *rejection {
	return &rejection{reason: reason, reply: &smtp.SMTPError{
		Code: code, EnhancedCode: smtp.EnhancedCode{class, subject, detail}, Message: text}}
}

// Every refusal smtpd gives. The reason strings are the allowed values of
// the "reason" label of sealgate_messages_rejected_total.
var (
	errAuthRequired   = rej("auth_required", 530, 5, 7, 0, "Authentication required")
	errTLSRequired    = rej("tls_required", 530, 5, 7, 0, "Must issue a STARTTLS command first")
	errSenderDenied   = rej("sender_denied", 550, 5, 7, 1, "Sender address not allowed for this client")
	errHeaderFrom     = rej("header_from_denied", 550, 5, 7, 1, "From header not allowed for this client")
	errNoHeaderFrom   = rej("header_from_missing", 550, 5, 6, 0, "Message needs exactly one From header")
	errBadAddress     = rej("bad_address", 553, 5, 1, 3, "Address syntax not accepted")
	errNonASCII       = rej("non_ascii", 553, 5, 6, 7, "Non-ASCII address needs SMTPUTF8")
	errBadParam       = rej("bad_parameter", 501, 5, 5, 4, "Invalid parameter")
	errRateLimit      = rej("rate_limit", 451, 4, 7, 1, "Sending rate exceeded, try again later")
	errAuthRateLimit  = rej("auth_rate_limit", 454, 4, 7, 0, "Too many failed logins, try again later")
	errTooBig         = rej("size", 552, 5, 3, 4, "Message too big")
	errLineTooLong    = rej("line_too_long", 500, 5, 5, 2, "Line too long")
	errBareNewline    = rej("bare_newline", 554, 5, 5, 2, "Bare CR or LF is not allowed; use CRLF")
	errBadMessage     = rej("bad_message", 554, 5, 6, 0, "Message header malformed")
	errHeaderTooBig   = rej("header_too_big", 552, 5, 3, 4, "Message header too large")
	errLoop           = rej("mail_loop", 554, 5, 4, 6, "Too many hops: mail loop")
	errPolicyBlock    = rej("policy_block", 550, 5, 7, 1, "Message refused by policy")
	errRequireTLSNoTL = rej("requiretls_without_tls", 530, 5, 7, 10, "REQUIRETLS needs TLS")
	errAborted        = rej("aborted", 421, 4, 4, 2, "Connection closing")
	errShutdown       = rej("shutdown", 421, 4, 3, 2, "Service shutting down, try again later")
	errDraining       = rej("draining", 421, 4, 3, 2, "Service not available: this node is draining, try again later")
	errNoStorage      = rej("insufficient_storage", 452, 4, 3, 1, "Insufficient system storage")
	errSuppressed     = rej("suppressed", 550, 5, 7, 1,
		"Recipient unsubscribed, bounced or complained: on this sender's suppression list (marketing mail only)")
	errSuppressionDown = rej("suppression_unavailable", 451, 4, 3, 0, "Suppression list unavailable, try again later")
	errMarketingNull   = rej("marketing_null_sender", 550, 5, 7, 1,
		"Marketing mail needs a sender address: its suppression list is the sender domain's")
	errNoRecipients = rej("no_recipients", 554, 5, 5, 1, "No valid recipients")
	errTooManyRcpts = rej("too_many_recipients", 452, 4, 5, 3, "Too many recipients")
)

// errAuthNeedsTLS answers AUTH before TLS (RFC 4954 §6). It is returned to
// go-smtp as it is, not through toReply: AUTH refusals are not rejections
// of mail.
var errAuthNeedsTLS = &smtp.SMTPError{Code: 538, EnhancedCode: smtp.EnhancedCode{5, 7, 11},
	Message: "Encryption required for requested authentication mechanism"}

// toReply maps any error to the reply the client sees. Unknown errors
// become a generic temporary failure that names only the queue ID.
func (s *Server) toReply(err error, queueID string) *smtp.SMTPError {
	if err == nil {
		return nil
	}
	var r *rejection
	if errors.As(err, &r) {
		s.m.rejected.WithLabelValues(r.reason).Inc()
		return r.reply
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) && se == smtp.ErrAuthFailed {
		return se
	}
	if mail.IsInsufficientStorage(err) {
		// A full, failing or read-only spool disk, or new mail refused
		// below queue.min_free: the client tries again later (RFC 3463).
		return s.toReply(errNoStorage, queueID)
	}
	s.m.rejected.WithLabelValues("internal").Inc()
	text := "Internal error, try again later"
	if queueID != "" {
		text = fmt.Sprintf("Internal error (queue ID %s), try again later", queueID)
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: text}
}
