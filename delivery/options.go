package delivery

import (
	"strings"

	"github.com/emersion/go-smtp"
	"github.com/sealgate/sealgate/mail"
)

// maxDSNParam bounds ENVID and ORCPT (RFC 3461 §4.2 and §4.4: 100 and 500).
const (
	maxEnvID = 100
	maxORCPT = 500
)

// mailOptions are the MAIL parameters for t on s. go-smtp adds
// BODY=8BITMIME itself whenever the server offers 8BITMIME.
func mailOptions(s *session, t txn) *smtp.MailOptions {
	o := &smtp.MailOptions{RequireTLS: t.d.RequireTLS}
	if s.has("SIZE") {
		o.Size = int64(len(t.d.Body))
	}
	if (t.d.SMTPUTF8 || t.env.needUTF8) && s.has("SMTPUTF8") {
		o.UTF8 = true
	}
	if !s.has("DSN") {
		return o
	}
	switch strings.ToUpper(t.d.Ret) {
	case "FULL":
		o.Return = smtp.DSNReturnFull
	case "HDRS":
		o.Return = smtp.DSNReturnHeaders
	}
	if len(t.d.EnvID) <= maxEnvID && isPrintable(t.d.EnvID) {
		o.EnvelopeID = t.d.EnvID
	}
	return o
}

// rcptOptions are the RCPT parameters for r on s: NOTIFY and ORCPT when the
// server offers DSN and the values are well formed (else they are left out
// rather than failing the recipient).
func rcptOptions(s *session, r mail.Rcpt) *smtp.RcptOptions {
	if !s.has("DSN") {
		return nil
	}
	o := &smtp.RcptOptions{Notify: notify(r.Notify)}
	o.OriginalRecipientType, o.OriginalRecipient = orcpt(r.ORCPT)
	if o.Notify == nil && o.OriginalRecipient == "" {
		return nil
	}
	return o
}

// notify validates a NOTIFY list: known values, no repeats, NEVER alone.
func notify(vals []string) []smtp.DSNNotify {
	if len(vals) == 0 || len(vals) > 3 {
		return nil
	}
	out := make([]smtp.DSNNotify, 0, len(vals))
	for _, v := range vals {
		n := smtp.DSNNotify(strings.ToUpper(v))
		switch n {
		case smtp.DSNNotifyNever, smtp.DSNNotifySuccess, smtp.DSNNotifyFailure, smtp.DSNNotifyDelayed:
		default:
			return nil
		}
		for _, seen := range out {
			if seen == n {
				return nil
			}
		}
		out = append(out, n)
	}
	for _, n := range out {
		if n == smtp.DSNNotifyNever && len(out) > 1 {
			return nil
		}
	}
	return out
}

// orcpt splits "type;address" (RFC 3461 §4.2). go-smtp xtext-encodes the
// address on the wire.
func orcpt(v string) (smtp.DSNAddressType, string) {
	typ, addr, ok := strings.Cut(v, ";")
	if !ok || addr == "" || len(v) > maxORCPT || !isPrintable(typ) {
		return "", ""
	}
	switch {
	case strings.EqualFold(typ, "rfc822") && isPrintable(addr):
		return smtp.DSNAddressTypeRFC822, addr
	case strings.EqualFold(typ, "utf-8") && strings.ToValidUTF8(addr, "") == addr && !strings.ContainsFunc(addr, isControl):
		return smtp.DSNAddressTypeUTF8, addr
	}
	return "", ""
}

// isPrintable reports whether s is printable US-ASCII (space included).
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) }
