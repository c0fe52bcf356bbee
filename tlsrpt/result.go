// Package tlsrpt implements SMTP TLS Reporting (RFC 8460) for sealgate's
// sending side: the delivery client records the TLS result of each
// connection attempt in a Store, and the Store builds the daily aggregate
// report for a policy domain in RFC 8460 §4.4's JSON shape. Lookup finds
// where a domain wants its reports (_smtp._tls TXT, RFC 8460 §3), and Send
// delivers a report by mailto (through a Mailer the gateway provides) or
// https POST.
package tlsrpt

import "time"

// Policy types (RFC 8460 §4.4 policy-type).
const (
	PolicySTS      = "sts"
	PolicyTLSA     = "tlsa"
	PolicyNotFound = "no-policy-found"
)

// Result types (RFC 8460 §4.3). Success is not a result type in reports;
// it is counted in the summary. ResultSuccess is used for it in metrics.
const (
	ResultSuccess = "success"
	// §4.3.1 negotiation failures.
	ResultSTARTTLSNotSupported = "starttls-not-supported"
	ResultCertHostMismatch     = "certificate-host-mismatch"
	ResultCertExpired          = "certificate-expired"
	ResultCertNotTrusted       = "certificate-not-trusted"
	ResultValidationFailure    = "validation-failure"
	// §4.3.2 policy failures.
	ResultTLSAInvalid    = "tlsa-invalid"
	ResultDNSSECInvalid  = "dnssec-invalid"
	ResultDANERequired   = "dane-required"
	ResultSTSFetchError  = "sts-policy-fetch-error"
	ResultSTSInvalid     = "sts-policy-invalid"
	ResultSTSWebPKIError = "sts-webpki-invalid"
)

// Result is the TLS outcome of one connection attempt (or of a policy that
// could not be had), as the delivery client records it. It carries host
// names and IP addresses, never message addresses.
type Result struct {
	Time time.Time
	// PolicyType is PolicySTS, PolicyTLSA or PolicyNotFound; PolicyDomain
	// is the recipient domain the policy belongs to.
	PolicyType   string
	PolicyDomain string
	// PolicyStrings is the policy as published (MTA-STS policy lines or
	// TLSA records in presentation form).
	PolicyStrings []string
	// MXHost is the receiving MX host name; for an MTA-STS policy, the
	// policy's mx patterns go in MXPatterns.
	MXHost     string
	MXPatterns []string
	// SendingIP and ReceivingIP are the connection's addresses, if known.
	SendingIP, ReceivingIP string
	// ResultType is ResultSuccess or a failure type.
	ResultType string
	// Detail is a short, fixed additional-information text for failures.
	Detail string
}

// Success reports whether r is a successful session.
func (r Result) Success() bool { return r.ResultType == ResultSuccess || r.ResultType == "" }
