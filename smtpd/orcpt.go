package smtpd

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxORCPT bounds an ORCPT value (RFC 3461 §4.2: 500 characters).
const maxORCPT = 500

var errORCPT = errors.New("smtpd: malformed ORCPT")

// decodeORCPT decodes the value of an ORCPT parameter, "type;address"
// (RFC 3461 §4.2), into the original recipient and whether it is beyond
// US-ASCII. Two address types are read:
//
//   - "rfc822": xtext (RFC 3461 §4), "+" and two hex digits per octet.
//     The octets may spell UTF-8: that is what Postfix sends for an
//     SMTPUTF8 recipient (ORCPT=rfc822;ren+C3+A9e@dest.test), and go-smtp
//     refuses it with 501 5.5.4.
//   - "utf-8": utf-8-addr-xtext or utf-8-addr-unitext (RFC 6533 §3),
//     with "\x{HEX}" for a code point.
//
// The decoded address must be valid UTF-8 without control characters.
func decodeORCPT(v string) (addr string, nonASCII bool, err error) {
	if len(v) > maxORCPT {
		return "", false, errORCPT
	}
	typ, enc, ok := strings.Cut(v, ";")
	if !ok || enc == "" {
		return "", false, errORCPT
	}
	switch {
	case strings.EqualFold(typ, "rfc822"):
		addr, err = decodeXtext(enc)
	case strings.EqualFold(typ, "utf-8"):
		addr, err = decodeUTF8Addr(enc)
	default:
		return "", false, errORCPT
	}
	if err != nil || addr == "" || !utf8.ValidString(addr) || strings.ContainsFunc(addr, isControl) {
		return "", false, errORCPT
	}
	for i := 0; i < len(addr); i++ {
		if addr[i] >= 0x80 {
			nonASCII = true
		}
	}
	return addr, nonASCII, nil
}

// decodeXtext decodes xtext (RFC 3461 §4): xchar is "!" to "~" except "+"
// and "="; hexchar is "+" and two upper-case hex digits (lower case is read
// too).
func decodeXtext(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			if i+3 > len(s) {
				return "", errORCPT
			}
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", errORCPT
			}
			b.WriteByte(byte(n))
			i += 2
		case c < '!' || c > '~' || c == '=':
			return "", errORCPT
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// decodeUTF8Addr decodes utf-8-addr-xtext and utf-8-addr-unitext (RFC 6533
// §3): QCHAR is printable ASCII except "+", "=" and "\", QUCHAR adds any
// non-ASCII UTF-8, and "\x{HEXPOINT}" stands for one code point.
func decodeUTF8Addr(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			rest, ok := strings.CutPrefix(s[i:], `\x{`)
			end := strings.IndexByte(rest, '}')
			if !ok || end < 2 || end > 6 {
				return "", errORCPT
			}
			n, err := strconv.ParseUint(rest[:end], 16, 32)
			if err != nil || n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
				return "", errORCPT
			}
			b.WriteRune(rune(n))
			i += len(`\x{`) + end + 1
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError {
				return "", errORCPT
			}
			b.WriteRune(r)
			i += size
		case c < '!' || c > '~' || c == '+' || c == '=':
			return "", errORCPT
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) }
