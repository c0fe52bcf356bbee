package delivery

import (
	"crypto/x509"
	"errors"
	"net"
	"time"

	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/tlsrpt"
)

// recordTLS counts r and hands it to the TLS report store.
func (c *Client) recordTLS(r tlsrpt.Result) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	if r.ResultType == "" {
		r.ResultType = tlsrpt.ResultSuccess
	}
	c.metrics.tlsPolicy.WithLabelValues(r.PolicyType, r.ResultType).Inc()
	if c.cfg.TLSReports != nil {
		c.cfg.TLSReports.Record(r)
	}
}

// reportTLS records r when report is set (see plan).
func (c *Client) reportTLS(report bool, r tlsrpt.Result) {
	if report {
		c.recordTLS(r)
	}
}

// reportSession records the TLS result of a new connection to req.hop:
// the session s (which may have failed with err, s then half set up).
// Connections that never tried TLS, and failures before or after it, are
// not TLS results.
func (c *Client) reportSession(req setupRequest, s *session, err *Error) {
	if req.level == mail.TLSNone {
		return
	}
	result, ok := sessionResult(req.hop, s, err)
	if !ok {
		return
	}
	r := policyResult(req.hop, result)
	if s.conn != nil {
		r.ReceivingIP = hostOf(s.conn.RemoteAddr())
		r.SendingIP = hostOf(s.conn.LocalAddr())
	}
	c.recordTLS(r)
}

// sessionResult classifies a connection attempt (RFC 8460 §4.3).
func sessionResult(h hop, s *session, err *Error) (string, bool) {
	switch {
	case err != nil && (errors.Is(err, errNoSTARTTLS) || err.Command == CmdTLS && err.Msg == "STARTTLS refused"):
		return tlsrpt.ResultSTARTTLSNotSupported, true
	case err != nil && err.Command == CmdTLS:
		return certResult(s.verifyErr), true
	case err != nil:
		return "", false
	case s.tlsVersion == "":
		return tlsrpt.ResultSTARTTLSNotSupported, true
	case !s.verified && (len(h.tls.tlsa) > 0 || h.tls.sts != nil):
		return certResult(s.verifyErr), true // MTA-STS testing: delivered, reported
	}
	return tlsrpt.ResultSuccess, true
}

// certResult names a certificate failure.
func certResult(err error) string {
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	var ue x509.UnknownAuthorityError
	switch {
	case errors.As(err, &he):
		return tlsrpt.ResultCertHostMismatch
	case errors.As(err, &ie) && ie.Reason == x509.Expired:
		return tlsrpt.ResultCertExpired
	case errors.As(err, &ue):
		return tlsrpt.ResultCertNotTrusted
	}
	return tlsrpt.ResultValidationFailure
}

func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return ""
	}
	return h
}
