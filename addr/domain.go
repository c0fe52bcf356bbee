package addr

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Domain validates and normalises an ASCII domain: it must be a host name of
// LDH labels (letters, digits, hyphen; 1-63 octets each, not starting or
// ending with a hyphen), at most 253 octets, without a trailing dot, with a
// last label that starts with a letter. A-labels (xn--) are accepted if they
// are valid IDNA and not mixed-script. The result is lower case.
//
// Domain refuses U-labels with ErrNonASCII; use ParseDomain with
// Options.SMTPUTF8 to accept them.
func Domain(s string) (string, error) {
	return ParseDomain(s, Options{})
}

// ParseDomain is Domain with options: with opts.SMTPUTF8 it also accepts
// U-labels, which must pass golang.org/x/net/idna's Lookup profile (UTS #46
// mapping, IDNA2008 validity, hyphen, joiner and bidi rules). A U-label is
// returned in its canonical (mapped, NFC, lower-case) Unicode form; an
// ASCII label stays ASCII. ASCIIDomain converts the result for DNS.
//
// Look-alike protection is limited: a label may not mix scripts beyond the
// combinations UTS #39 "highly restrictive" allows (Latin with Han and
// Japanese kana, Han with Bopomofo or Hangul), which stops "pаypal" with a
// Cyrillic "а". A label written wholly in one script that resembles another
// (all-Cyrillic "аррle") is not detected. Symbols and punctuation that
// IDNA2008 disallows but UTS #46 accepts (U+2665, U+2044) are refused.
//
// opts.AllowQuoted has no effect on domains.
func ParseDomain(s string, opts Options) (string, error) {
	if err := checkText(s, opts); err != nil {
		return "", err
	}
	switch {
	case s == "":
		return "", ErrEmptyDomain
	case s[0] == '[':
		return "", ErrAddressLiteral
	case s[len(s)-1] == '.':
		return "", ErrTrailingDot
	}
	labels := strings.Split(s, ".")
	asciiLen := len(labels) - 1
	for i, l := range labels {
		canon, alabel, err := parseLabel(l)
		if err != nil {
			return "", err
		}
		labels[i] = canon
		asciiLen += len(alabel)
	}
	if asciiLen > 253 {
		return "", ErrDomainTooLong
	}
	if err := checkTLD(labels[len(labels)-1]); err != nil {
		return "", err
	}
	return strings.Join(labels, "."), nil
}

// ASCIIDomain returns the A-label (punycode) form of a domain returned by
// ParseDomain or Address.Domain, for DNS lookups and for comparing domains.
func ASCIIDomain(d string) (string, error) {
	if isASCII(d) {
		return strings.ToLower(d), nil
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", ErrIDN
	}
	return a, nil
}

// parseLabel validates one label and returns its canonical form and its
// A-label form.
func parseLabel(l string) (canon, alabel string, err error) {
	if !isASCII(l) {
		return parseULabel(l)
	}
	l = strings.ToLower(l)
	if err := checkLDH(l); err != nil {
		return "", "", err
	}
	if strings.HasPrefix(l, "xn--") {
		u, err := idna.Lookup.ToUnicode(l)
		if err != nil || strings.Contains(u, ".") {
			return "", "", ErrIDN
		}
		if err := checkULabel(u); err != nil {
			return "", "", err
		}
	}
	return l, l, nil
}

// parseULabel validates a label with non-ASCII characters through the IDNA
// lookup profile and returns its canonical U-label and its A-label.
func parseULabel(l string) (canon, alabel string, err error) {
	a, err := idna.Lookup.ToASCII(l)
	// A label that maps to several (U+3002 and other full stops) is refused:
	// SMTP domains separate labels with "." only.
	if err != nil || a == "" || strings.Contains(a, ".") {
		return "", "", ErrIDN
	}
	if err := checkLDH(a); err != nil {
		return "", "", err
	}
	u, err := idna.Lookup.ToUnicode(a)
	if err != nil {
		return "", "", ErrIDN
	}
	if err := checkULabel(u); err != nil {
		return "", "", err
	}
	return u, a, nil
}

// checkULabel applies sealgate's checks on top of the IDNA lookup profile,
// which accepts symbols (U+2665, U+2044) that IDNA2008 (RFC 5892) disallows:
// every character must be a letter, mark, decimal digit or hyphen, or one
// of the CONTEXTO punctuation characters (whose context rules are not
// checked); and the label must not mix scripts.
func checkULabel(u string) error {
	for _, r := range u {
		switch {
		case r == '-', unicode.IsLetter(r), unicode.IsMark(r), unicode.IsDigit(r):
		case strings.ContainsRune("\u00b7\u0375\u05f3\u05f4\u30fb", r):
		default:
			return ErrIDN
		}
	}
	if mixedScript(u) {
		return ErrMixedScript
	}
	return nil
}

// checkLDH checks an ASCII label: 1-63 octets of letters, digits and
// hyphens, not starting or ending with a hyphen (RFC 1035 §2.3.1, RFC 1123
// §2.1).
func checkLDH(l string) error {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return ErrLabel
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return ErrLabel
		}
	}
	return nil
}

// checkTLD refuses a last label that does not start with a letter, so that
// no domain can be read as an IPv4 address in dotted, decimal or hex form
// (RFC 1123 §2.1, RFC 3696 §2).
func checkTLD(l string) error {
	if strings.HasPrefix(l, "xn--") {
		u, err := idna.Lookup.ToUnicode(l)
		if err != nil {
			return ErrIDN
		}
		l = u
	}
	r, _ := utf8.DecodeRuneInString(l)
	if !unicode.IsLetter(r) {
		return ErrTLD
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
