package addr

import "errors"

// ErrSyntax is the family of all address syntax errors: errors.Is(err,
// ErrSyntax) is true for every error returned by this package except
// ErrNonASCII. An SMTP server maps it to 553 5.1.3 and ErrNonASCII to
// 553 5.6.7 (RFC 6531 §3.5). None of the errors echo the address.
var ErrSyntax = errors.New("addr: bad address syntax")

// syntaxError is a sentinel that also matches ErrSyntax.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return "addr: " + e.msg }

// Is reports that every syntaxError belongs to the ErrSyntax family.
func (e *syntaxError) Is(target error) bool { return target == ErrSyntax }

func newSyntax(msg string) error { return &syntaxError{msg: msg} }

// Sentinel errors. Each one is distinct and usable with errors.Is.
var (
	// ErrNonASCII: the address has non-ASCII characters but SMTPUTF8 was
	// not negotiated. Not part of ErrSyntax.
	ErrNonASCII = errors.New("addr: non-ASCII address without SMTPUTF8")

	// ErrEmpty: the address is empty (the null reverse-path <> is the caller's
	// to handle).
	ErrEmpty = newSyntax("empty address")
	// ErrInvalidUTF8: the address is not valid UTF-8 (refused even with
	// SMTPUTF8).
	ErrInvalidUTF8 = newSyntax("invalid UTF-8")
	// ErrControl: a control (C0, DEL, C1) or Unicode format character (Cf, such
	// as zero-width or bidi controls) appears.
	ErrControl = newSyntax("control or format character in address")
	// ErrSpace: white space appears anywhere, inside quotes included.
	ErrSpace = newSyntax("white space in address")
	// ErrNoAt: there is no @ between local part and domain.
	ErrNoAt = newSyntax("address has no @")
	// ErrMultipleAt: more than one @, such as user@evil.test@gw or a quoted
	// "user@evil.test"@gw.
	ErrMultipleAt = newSyntax("address has more than one @")
	// ErrEmptyLocal: the local part is empty.
	ErrEmptyLocal = newSyntax("empty local part")
	// ErrLocalTooLong: the local part, as written, exceeds 64 octets (RFC 5321
	// §4.5.3.1.1).
	ErrLocalTooLong = newSyntax("local part longer than 64 octets")
	// ErrTooLong: the address, as written, exceeds 254 octets (a 256-octet path
	// minus the brackets).
	ErrTooLong = newSyntax("address longer than 254 octets")
	// ErrLocalSyntax: the local part is not a valid dot-string or quoted-string.
	ErrLocalSyntax = newSyntax("bad local part syntax")
	// ErrQuoted: a quoted local part was given but Options.AllowQuoted is false.
	ErrQuoted = newSyntax("quoted local part not accepted")
	// ErrRouting: the local part uses % or ! routing (user%evil.test@gw,
	// evil.test!user@gw).
	ErrRouting = newSyntax("% or ! routing in local part")
	// ErrSourceRoute: a source route such as @gw:user@evil.test (RFC 5321
	// §4.1.2, obsolete).
	ErrSourceRoute = newSyntax("source route not accepted")
	// ErrEmptyDomain: the domain is empty.
	ErrEmptyDomain = newSyntax("empty domain")
	// ErrAddressLiteral: the domain is an address literal such as [127.0.0.1]; a
	// gateway never relays to literals.
	ErrAddressLiteral = newSyntax("address literal not accepted as domain")
	// ErrTrailingDot: the domain ends with a dot.
	ErrTrailingDot = newSyntax("domain ends with a dot")
	// ErrLabel: a domain label is empty, longer than 63 octets, has characters
	// other than letters, digits and hyphen, or starts or ends with a hyphen.
	ErrLabel = newSyntax("bad domain label")
	// ErrDomainTooLong: the domain, in A-label form, exceeds 253 octets.
	ErrDomainTooLong = newSyntax("domain longer than 253 octets")
	// ErrTLD: the last label does not start with a letter, so the domain could
	// be taken for an IP address (127.0.0.1, 2130706433, 0x7f000001).
	ErrTLD = newSyntax("top-level label does not start with a letter")
	// ErrIDN: an internationalised label fails IDNA (UTS #46 lookup profile)
	// validation.
	ErrIDN = newSyntax("invalid internationalised domain")
	// ErrMixedScript: a label mixes scripts, such as Latin with Cyrillic (a
	// look-alike domain).
	ErrMixedScript = newSyntax("domain label mixes scripts")
	// ErrGlob: an allowed-senders pattern is malformed.
	ErrGlob = newSyntax("bad sender pattern")
)
