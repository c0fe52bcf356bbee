package delivery

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// go-smtp's client writes "MAIL FROM:<%s>" and "RCPT TO:<%s>" without
// quoting, so an address carrying a space or '>' would inject ESMTP
// parameters or commands into the session. Every address is checked here
// and written in canonical form before it goes on the wire.

// Address problems; the messages are fixed and never quote the address.
var (
	errAddrSyntax = errors.New("address is not a safe RFC 5321 mailbox")
	errAddrLength = errors.New("address is too long")
)

// maxAddrLen is RFC 5321 §4.5.3.1.3's path limit minus the angle brackets.
const maxAddrLen = 254

// wireAddr is an address checked and ready for MAIL or RCPT.
type wireAddr struct {
	s    string // canonical form, safe between < and >
	utf8 bool   // contains non-ASCII (needs SMTPUTF8)
}

// parseAddr checks a mailbox (local@domain) and returns its canonical wire
// form: no spaces, angle brackets or control characters anywhere, exactly
// one '@' outside a quoted local part, a quoted local part only when it is
// needed and with the minimum of escapes.
func parseAddr(a string) (wireAddr, error) {
	if len(a) > maxAddrLen {
		return wireAddr{}, errAddrLength
	}
	if !utf8.ValidString(a) || strings.ContainsFunc(a, unsafeRune) {
		return wireAddr{}, errAddrSyntax
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c <= ' ' || c == 0x7f || c == '<' || c == '>' {
			return wireAddr{}, errAddrSyntax
		}
	}
	local, domain, err := splitAddr(a)
	if err != nil {
		return wireAddr{}, err
	}
	if !validDomain(domain) {
		return wireAddr{}, errAddrSyntax
	}
	w := quoteLocal(local) + "@" + domain
	return wireAddr{s: w, utf8: !isASCII(w)}, nil
}

// splitAddr separates the local part (unquoted and unescaped) from the
// domain.
func splitAddr(a string) (local, domain string, err error) {
	if strings.HasPrefix(a, `"`) {
		local, rest, ok := unquote(a)
		if !ok || !strings.HasPrefix(rest, "@") {
			return "", "", errAddrSyntax
		}
		return local, rest[1:], nil
	}
	at := strings.IndexByte(a, '@')
	if at <= 0 {
		return "", "", errAddrSyntax
	}
	local = a[:at]
	for i := 0; i < len(local); i++ {
		if !isAtext(local[i]) && local[i] != '.' {
			return "", "", errAddrSyntax
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

// quoteLocal writes a local part as a dot-atom when it is one, else as a
// quoted-string escaping only '"' and '\'.
func quoteLocal(local string) string {
	if isDotAtom(local) {
		return local
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		if local[i] == '"' || local[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(local[i])
	}
	b.WriteByte('"')
	return b.String()
}

// isDotAtom reports whether s is an RFC 5321 Dot-string (UTF-8 allowed, as
// RFC 6531 extends atext).
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

// isAtext reports whether c is RFC 5322 atext or part of a UTF-8 sequence.
func isAtext(c byte) bool {
	switch {
	case c >= 0x80:
		return true
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// validDomain accepts a host name of letters, digits, '-' and '.' (and
// UTF-8 for SMTPUTF8); address literals are not accepted for delivery.
func validDomain(d string) bool {
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

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
