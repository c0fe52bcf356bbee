package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"

	"github.com/emersion/go-smtp"
	"github.com/sealgate/sealgate/mail"
)

// Commands named in Error.Command, besides the SMTP verbs "MAIL", "RCPT",
// "DATA", "EHLO", "STARTTLS" and "AUTH".
const (
	CmdDNS     = "dns"     // looking up the route (MX, A/AAAA)
	CmdConnect = "connect" // TCP connection or the greeting
	CmdTLS     = "tls"     // TLS handshake and certificate checks
	CmdCheck   = "check"   // a local check before anything is sent
)

// Error is a typed delivery failure: permanent (bounce) or temporary
// (retry), with the remote reply when there was one.
//
// Error() never contains the remote reply text, which may quote addresses;
// that text is in Msg, for the DSN only. Locally made errors keep their
// fixed, PHI-free description in Msg and Error().
type Error struct {
	Permanent bool
	// Code and Enhanced are the remote reply code ("550", "5.1.1"); Code is
	// 0 for errors made locally, which still carry an Enhanced code.
	Code     int
	Enhanced string
	// Command is what failed: an SMTP verb or one of the Cmd constants.
	Command string
	// Host is the next hop (MX or route host name), "" before one was chosen.
	Host string
	// Msg is the remote reply text, or a local description.
	Msg string
	// Err is the underlying error (network, TLS, DNS), if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	s := fmt.Sprintf("delivery: %s failure at %s", kind, e.Command)
	if e.Host != "" {
		s += " to " + e.Host
	}
	switch {
	case e.Code != 0:
		s += fmt.Sprintf(": remote replied %d %s", e.Code, e.Enhanced)
	case e.Msg != "":
		s += fmt.Sprintf(": %s (%s)", e.Msg, e.Enhanced)
	}
	if e.Err != nil {
		s += ": " + causeText(e.Err)
	}
	return s
}

// causeText describes an underlying error for Error(). An error that
// carries text the remote server sent (a reply, or a reply line that could
// not be parsed) is named by its code or kind only: that text may quote
// addresses.
func causeText(err error) string {
	var se *smtp.SMTPError
	var te *textproto.Error
	var pe textproto.ProtocolError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("remote replied %d", se.Code)
	case errors.As(err, &te):
		return fmt.Sprintf("remote replied %d", te.Code)
	case errors.As(err, &pe):
		return "malformed reply from the server"
	}
	return err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Stage names where the delivery failed, for the failure metric's label:
// the SMTP verb or Cmd constant, lower case.
func (e *Error) Stage() string { return strings.ToLower(e.Command) }

// RemoteReply returns the remote server's reply text, "" for an error made
// locally. It is raw: mail.ReplyText makes it safe to keep.
func (e *Error) RemoteReply() string {
	if e.Code == 0 {
		return ""
	}
	return e.Msg
}

// Temporary reports whether the failure may go away on a later attempt.
func (e *Error) Temporary() bool { return !e.Permanent }

// TLSFailure reports whether the required transport security could not be
// had: STARTTLS not offered or refused, a failed handshake or certificate
// check, or REQUIRETLS not satisfied. Callers that must not fall back to
// plaintext (PHI) use it to divert the message instead of retrying.
func (e *Error) TLSFailure() bool {
	return e.Command == CmdTLS || e.Command == "STARTTLS" || e.Enhanced == "5.7.30"
}

// Is makes a TLS failure match mail.ErrTLSUnavailable, so that the
// protection layer recognises it without importing delivery.
func (e *Error) Is(target error) bool {
	return target == mail.ErrTLSUnavailable && e.TLSFailure()
}

// localError is an Error made by sealgate itself (no remote reply).
func localError(perm bool, enhanced, cmd, host, msg string, err error) *Error {
	return &Error{Permanent: perm, Enhanced: enhanced, Command: cmd, Host: host, Msg: msg, Err: err}
}

// replyError classifies an error returned by the SMTP client for cmd. A
// remote reply keeps its code (4xx temporary, 5xx permanent); anything else
// (I/O, timeouts, protocol) is temporary.
func replyError(err error, cmd, host string) *Error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e := &Error{Code: se.Code, Command: cmd, Host: host, Msg: se.Message}
		e.Permanent = se.Code >= 500 && se.Code < 600
		if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
			c := se.EnhancedCode
			e.Enhanced = fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
		}
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return localError(false, "4.4.7", cmd, host, "delivery attempt cancelled or timed out", err)
	}
	return localError(false, "4.4.2", cmd, host, "connection failed during the session", err)
}

// isReply reports whether err carries a remote SMTP reply (so the session
// is still in a known state).
func isReply(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se)
}

// dnsError classifies a resolver error: "not found" is permanent, anything
// else (timeouts, SERVFAIL) temporary.
func dnsError(err error, host string) *Error {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return localError(true, "5.4.4", CmdDNS, host, "host or domain name not found", err)
	}
	return localError(false, "4.4.3", CmdDNS, host, "DNS lookup failed", err)
}
