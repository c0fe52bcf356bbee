// Package addr parses e-mail addresses strictly, as RFC 5321 writes them in
// the SMTP envelope, for the SMTP server and the delivery client.
//
// go-smtp hands the server an address it has already decoded: quotes
// removed, escapes undone, source routes stripped. sealgate parses that text
// again and refuses every form that has been used to bypass relay rules or
// smuggle ESMTP parameters: control characters and spaces, several @, %
// and ! routing, source routes, quoted local parts (unless allowed), address
// literals, trailing dots, numeric top-level labels, non-ASCII without
// SMTPUTF8, invalid UTF-8 and mixed-script internationalised domains.
//
// The errors never contain the address itself (addresses are PHI-adjacent).
package addr

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Options controls what Parse and ParseDomain accept beyond plain ASCII
// dot-string addresses.
type Options struct {
	// SMTPUTF8 allows non-ASCII characters (RFC 6531): UTF-8 in the local
	// part and U-labels in the domain. Set it only when the client used the
	// SMTPUTF8 parameter.
	SMTPUTF8 bool
	// AllowQuoted accepts a quoted local part ("a..b"@example.org) and
	// canonicalises it. Even then the quoted text may not contain spaces,
	// control characters, @, %, !, < or >. Default false: refused.
	AllowQuoted bool
}

// Address is a parsed mailbox. Local is the local part, decoded (without
// quotes or escapes) and with its case preserved. Domain is lower case and
// in canonical form: ASCII (A-labels kept as such) or a U-label as given,
// after IDNA mapping.
type Address struct {
	Local, Domain string
}

// String returns the canonical "local@domain", the local part re-quoted
// only when it is not a valid dot-string (RFC 5321 §4.1.2). The zero Address
// returns "".
func (a Address) String() string {
	if a.Local == "" && a.Domain == "" {
		return ""
	}
	return quoteLocal(a.Local) + "@" + a.Domain
}

// Parse parses an envelope address without angle brackets, such as
// "user@example.org". It never returns an address that contains control
// characters, white space, < or >. The null path ("") gives ErrEmpty and the
// bare "Postmaster" of RFC 5321 §4.1.1.3 gives ErrNoAt: both are for the
// caller to handle before Parse.
func Parse(s string, opts Options) (Address, error) {
	if s == "" {
		return Address{}, ErrEmpty
	}
	if err := checkText(s, opts); err != nil {
		return Address{}, err
	}
	local, domain, err := split(s, opts)
	if err != nil {
		return Address{}, err
	}
	if err := checkLocal(local); err != nil {
		return Address{}, err
	}
	d, err := ParseDomain(domain, opts)
	if err != nil {
		return Address{}, err
	}
	a := Address{Local: local, Domain: d}
	if len(quoteLocal(local)) > 64 {
		return Address{}, ErrLocalTooLong
	}
	if len(a.String()) > 254 {
		return Address{}, ErrTooLong
	}
	return a, nil
}

// checkText applies the checks that hold for every character of an address
// or domain: valid UTF-8, no controls or format characters, no white space,
// ASCII unless SMTPUTF8.
func checkText(s string, opts Options) error {
	if !utf8.ValidString(s) {
		return ErrInvalidUTF8
	}
	nonASCII := false
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return ErrControl
		case unicode.IsSpace(r):
			return ErrSpace
		case r >= utf8.RuneSelf:
			nonASCII = true
		}
	}
	if nonASCII && !opts.SMTPUTF8 {
		return ErrNonASCII
	}
	return nil
}

// split separates the local part (decoded if quoted) from the domain.
func split(s string, opts Options) (local, domain string, err error) {
	if s[0] == '@' && strings.Contains(s, ":") {
		return "", "", ErrSourceRoute
	}
	if strings.ContainsAny(s, "<>") {
		return "", "", ErrLocalSyntax
	}
	if s[0] == '"' {
		if !opts.AllowQuoted {
			return "", "", ErrQuoted
		}
		return splitQuoted(s)
	}
	if strings.Contains(s, `"`) {
		return "", "", ErrQuoted
	}
	switch strings.Count(s, "@") {
	case 0:
		return "", "", ErrNoAt
	case 1:
	default:
		return "", "", ErrMultipleAt
	}
	local, domain, _ = strings.Cut(s, "@")
	if local != "" && !isDotString(local) {
		return "", "", ErrLocalSyntax
	}
	return local, domain, nil
}

// splitQuoted decodes a quoted-string local part (RFC 5321 §4.1.2,
// quoted-pairSMTP is a backslash and one printable ASCII character) and
// returns it with the domain that follows its '@'.
func splitQuoted(s string) (local, domain string, err error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) || s[i+1] < 0x20 || s[i+1] > 0x7e {
				return "", "", ErrLocalSyntax
			}
			i++
			b.WriteByte(s[i])
		case '"':
			rest := s[i+1:]
			if rest == "" || rest[0] != '@' {
				return "", "", ErrLocalSyntax
			}
			if strings.Contains(rest[1:], "@") {
				return "", "", ErrMultipleAt
			}
			return b.String(), rest[1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", ErrLocalSyntax
}

// checkLocal refuses local-part content that is dangerous however it was
// written: emptiness, routing characters and a second @.
func checkLocal(local string) error {
	switch {
	case local == "":
		return ErrEmptyLocal
	case strings.ContainsAny(local, "%!"):
		return ErrRouting
	case strings.Contains(local, "@"):
		return ErrMultipleAt
	}
	return nil
}

// isDotString reports whether s is an RFC 5321 Dot-string, with RFC 6531's
// non-ASCII characters allowed in atoms.
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r != '.' && !isAtext(r) {
			return false
		}
	}
	return true
}

// isAtext reports whether r is an RFC 5322 atext character or non-ASCII
// (RFC 6531 UTF8-non-ascii).
func isAtext(r rune) bool {
	switch {
	case r >= utf8.RuneSelf:
		return true
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// quoteLocal writes local as a Dot-string if it is one, else as a
// quoted-string with " and \ escaped.
func quoteLocal(local string) string {
	if isDotString(local) {
		return local
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		if c := local[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(local[i])
	}
	b.WriteByte('"')
	return b.String()
}
