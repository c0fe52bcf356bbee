package addr

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// go-smtp's client writes "MAIL FROM:<%s>" and "RCPT TO:<%s>" without
// quoting, so an address carrying a space or '>' would inject ESMTP
// parameters or commands into the session. Every address is checked here
// and written in canonical form before it goes on the wire.

// ErrUnsafe is Wire's error for an address that is not safe to write
// between angle brackets; a too long one gives ErrTooLong. Both belong to
// ErrSyntax and never quote the address.
var ErrUnsafe = newSyntax("address is not a safe RFC 5321 mailbox")

// maxAddrLen is RFC 5321 §4.5.3.1.3's path limit minus the angle brackets.
const maxAddrLen = 254

// Wire checks a mailbox (local@domain) that is about to be written between
// the angle brackets of MAIL FROM or RCPT TO, and returns its canonical wire
// form: no spaces, angle brackets or control characters anywhere, exactly
// one '@' outside a quoted local part, a quoted local part only when it is
// needed and with the minimum of escapes. nonASCII reports that the
// transaction needs SMTPUTF8.
//
// Wire is the delivery side's check and is deliberately more lenient than
// Parse: it refuses only what is unsafe to write, so that mail smtpd
// accepted (or sealgate wrote itself) is not refused on its way out for a
// reason of taste; the local part's case, the domain's case and routing
// characters are kept as they are.
func Wire(a string) (wire string, nonASCII bool, err error) {
	if len(a) > maxAddrLen {
		return "", false, ErrTooLong
	}
	if !utf8.ValidString(a) || strings.ContainsFunc(a, unsafeRune) {
		return "", false, ErrUnsafe
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c <= ' ' || c == 0x7f || c == '<' || c == '>' {
			return "", false, ErrUnsafe
		}
	}
	local, domain, err := splitAddr(a)
	if err != nil {
		return "", false, err
	}
	if !wireDomain(domain) {
		return "", false, ErrUnsafe
	}
	w := quoteLocal(local) + "@" + domain
	return w, !isASCII(w), nil
}

// splitAddr separates the local part (unquoted and unescaped) from the
// domain.
func splitAddr(a string) (local, domain string, err error) {
	if strings.HasPrefix(a, `"`) {
		local, rest, ok := unquote(a)
		if !ok || !strings.HasPrefix(rest, "@") {
			return "", "", ErrUnsafe
		}
		return local, rest[1:], nil
	}
	at := strings.IndexByte(a, '@')
	if at <= 0 {
		return "", "", ErrUnsafe
	}
	local = a[:at]
	for i := 0; i < len(local); i++ {
		if !isAtextByte(local[i]) && local[i] != '.' {
			return "", "", ErrUnsafe
		}
	}
	return local, a[at+1:], nil
}

// unquote reads an RFC 5321 quoted-string at the start of s and returns its
// content and the rest of s.
func unquote(s string) (content, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:], b.Len() > 0
		case c == '\\':
			if i+1 >= len(s) {
				return "", "", false
			}
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// isAtextByte reports whether c is RFC 5322 atext or part of a UTF-8 sequence.
func isAtextByte(c byte) bool {
	switch {
	case c >= 0x80:
		return true
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// wireDomain accepts a host name of letters, digits, '-' and '.' (and
// UTF-8 for SMTPUTF8); address literals are not accepted for delivery.
func wireDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") ||
		strings.HasPrefix(d, "-") || strings.Contains(d, "..") {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		ok := c >= 0x80 || c == '-' || c == '.' ||
			'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

// unsafeRune reports Unicode white space, control and format characters
// (NBSP, NEL, bidi controls), which some parsers treat as delimiters.
func unsafeRune(r rune) bool {
	return r >= utf8.RuneSelf && (unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r))
}

// DomainOf returns the domain of a mailbox in lower case: what follows its
// last '@' (a quoted local part may hold an '@' of its own). It returns ""
// when there is no '@' or nothing follows it.
func DomainOf(a string) string {
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(a[at+1:])
}

// LocalOf returns the local part of a mailbox as written: what precedes its
// last '@', or all of a when it has none.
func LocalOf(a string) string {
	if at := strings.LastIndexByte(a, '@'); at >= 0 {
		return a[:at]
	}
	return a
}
