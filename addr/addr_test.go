package addr

import (
	"errors"
	"strings"
	"testing"
)

var (
	ascii  = Options{}
	utf8ok = Options{SMTPUTF8: true}
	quoted = Options{AllowQuoted: true}
)

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		opts Options
		want Address
		str  string
	}{
		{"user@example.org", ascii, Address{"user", "example.org"}, "user@example.org"},
		{"User.Name+tag@Example.ORG", ascii, Address{"User.Name+tag", "example.org"}, "User.Name+tag@example.org"},
		{"a@b.co", ascii, Address{"a", "b.co"}, "a@b.co"},
		{"o'brien@mail.example.org", ascii, Address{"o'brien", "mail.example.org"}, "o'brien@mail.example.org"},
		{"x_y-z=1@a-b.example", ascii, Address{"x_y-z=1", "a-b.example"}, "x_y-z=1@a-b.example"},
		{"postmaster@localhost", ascii, Address{"postmaster", "localhost"}, "postmaster@localhost"},
		{"user@xn--mnchen-3ya.de", ascii, Address{"user", "xn--mnchen-3ya.de"}, "user@xn--mnchen-3ya.de"},
		{"user@3com.example", ascii, Address{"user", "3com.example"}, "user@3com.example"},
		{"user@München.DE", utf8ok, Address{"user", "münchen.de"}, "user@münchen.de"},
		{"δοκιμή@παράδειγμα.δοκιμή", utf8ok, Address{"δοκιμή", "παράδειγμα.δοκιμή"}, "δοκιμή@παράδειγμα.δοκιμή"},
		{"用户@例子.广告", utf8ok, Address{"用户", "例子.广告"}, "用户@例子.广告"},
		{`"a..b"@example.org`, quoted, Address{"a..b", "example.org"}, `"a..b"@example.org`},
		{`"plain"@example.org`, quoted, Address{"plain", "example.org"}, "plain@example.org"},
		{`"a\"b"@example.org`, quoted, Address{`a"b`, "example.org"}, `"a\"b"@example.org`},
		{`"a\\b"@example.org`, quoted, Address{`a\b`, "example.org"}, `"a\\b"@example.org`},
		{`"\a(b)"@example.org`, quoted, Address{`a(b)`, "example.org"}, `"a(b)"@example.org`},
		{strings.Repeat("l", 64) + "@example.org", ascii, Address{strings.Repeat("l", 64), "example.org"}, ""},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.opts)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		if tt.str != "" && got.String() != tt.str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got.String(), tt.str)
		}
	}
}

func TestParseRefused(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 63)
	tests := []struct {
		in   string
		opts Options
		want error
	}{
		// Classic relay-bypass forms (go-smtp-pitfalls.md).
		{"user%evil.test@gw.example", ascii, ErrRouting},
		{"evil.test!user@gw.example", ascii, ErrRouting},
		{"@gw.example:user@evil.test", ascii, ErrSourceRoute},
		{"@gw.example,@gw2.example:user@evil.test", ascii, ErrSourceRoute},
		{`"user@evil.test"@gw.example`, ascii, ErrQuoted},
		{`"user@evil.test"@gw.example`, quoted, ErrMultipleAt},
		{`"user%evil.test"@gw.example`, quoted, ErrRouting},
		{"user@evil.test@gw.example", ascii, ErrMultipleAt},
		{"user@[127.0.0.1]", ascii, ErrAddressLiteral},
		{"user@[IPv6:::1]", ascii, ErrAddressLiteral},
		{"user@example.org.", ascii, ErrTrailingDot},
		{"user@127.0.0.1", ascii, ErrTLD},
		{"user@2130706433", ascii, ErrTLD},
		{"user@0x7f000001", ascii, ErrTLD},
		{"user@pаypal.com", utf8ok, ErrMixedScript},       // Cyrillic а
		{"user@xn--pypal-4ve.com", ascii, ErrMixedScript}, // same, as an A-label
		// What go-smtp makes of <"x> NOTIFY=SUCCESS ORCPT=rfc822;a@evil.test"@partner.test>.
		{"x> NOTIFY=SUCCESS ORCPT=rfc822;a@evil.test@partner.test", ascii, ErrSpace},
		{"x>NOTIFY=SUCCESS@partner.test", ascii, ErrLocalSyntax},
		{"<user@example.org>", ascii, ErrLocalSyntax},
		// Characters.
		{"", ascii, ErrEmpty},
		{"us\x00er@example.org", ascii, ErrControl},
		{"user@exa\rmple.org", ascii, ErrControl},
		{"user@example.org\r\nRCPT TO:<x@evil.test>", ascii, ErrControl},
		{"us\ter@example.org", ascii, ErrControl},
		{"user\x7f@example.org", ascii, ErrControl},
		{"user\u0085@example.org", utf8ok, ErrControl},
		{"us\u200ber@example.org", utf8ok, ErrControl},
		{"user@exam\u202eple.org", utf8ok, ErrControl},
		{"us er@example.org", ascii, ErrSpace},
		{`"us er"@example.org`, quoted, ErrSpace},
		{"user@example.org ", ascii, ErrSpace},
		{"user\u00a0@example.org", utf8ok, ErrSpace},
		{"user\u2028@example.org", utf8ok, ErrSpace},
		{"üser@example.org", ascii, ErrNonASCII},
		{"user@münchen.de", ascii, ErrNonASCII},
		{"us\xffer@example.org", utf8ok, ErrInvalidUTF8},
		{"user@ex\xc3ample.org", ascii, ErrInvalidUTF8},
		// Structure.
		{"userexample.org", ascii, ErrNoAt},
		{"@example.org", ascii, ErrEmptyLocal},
		{"user@", ascii, ErrEmptyDomain},
		{`""@example.org`, quoted, ErrEmptyLocal},
		{".user@example.org", ascii, ErrLocalSyntax},
		{"user.@example.org", ascii, ErrLocalSyntax},
		{"us..er@example.org", ascii, ErrLocalSyntax},
		{"us(er)@example.org", ascii, ErrLocalSyntax},
		{"us,er@example.org", ascii, ErrLocalSyntax},
		{`us"er"@example.org`, quoted, ErrQuoted},
		{`"a..b"@example.org`, ascii, ErrQuoted},
		{`"unterminated@example.org`, quoted, ErrLocalSyntax},
		{`"a"b@example.org`, quoted, ErrLocalSyntax},
		{`"a\`, quoted, ErrLocalSyntax},
		{`"a<b"@example.org`, quoted, ErrLocalSyntax},
		{strings.Repeat("l", 65) + "@example.org", ascii, ErrLocalTooLong},
		{`"` + strings.Repeat(".", 63) + `"@example.org`, quoted, ErrLocalTooLong},
		{"u@" + long + "." + long + "." + long + "." + long[:60] + ".org", ascii, ErrDomainTooLong},
		{strings.Repeat("l", 64) + "@" + long + "." + long + "." + long + ".org", ascii, ErrTooLong},
		// Domains.
		{"user@-example.org", ascii, ErrLabel},
		{"user@example-.org", ascii, ErrLabel},
		{"user@exa_mple.org", ascii, ErrLabel},
		{"user@example..org", ascii, ErrLabel},
		{"user@.example.org", ascii, ErrLabel},
		{"user@" + long + "x.org", ascii, ErrLabel},
		{"user@xn--zz.org", ascii, ErrIDN},
		{"user@xn--example-.org", ascii, ErrLabel},
		{"user@例子。广告", utf8ok, ErrIDN}, // ideographic full stop
		{"user@ex\u2044ample.org", utf8ok, ErrIDN},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.opts)
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q, %+v) = %#v, %v; want %v", tt.in, tt.opts, got, err, tt.want)
			continue
		}
		if got != (Address{}) {
			t.Errorf("Parse(%q) returned %#v with an error", tt.in, got)
		}
		if tt.in != "" && strings.Contains(err.Error(), tt.in) {
			t.Errorf("error %q echoes the address", err)
		}
	}
}

func TestErrorFamilies(t *testing.T) {
	t.Parallel()
	all := []error{ErrEmpty, ErrInvalidUTF8, ErrControl, ErrSpace, ErrNoAt, ErrMultipleAt,
		ErrEmptyLocal, ErrLocalTooLong, ErrTooLong, ErrLocalSyntax, ErrQuoted, ErrRouting,
		ErrSourceRoute, ErrEmptyDomain, ErrAddressLiteral, ErrTrailingDot, ErrLabel,
		ErrDomainTooLong, ErrTLD, ErrIDN, ErrMixedScript, ErrGlob}
	for i, e := range all {
		if !errors.Is(e, ErrSyntax) {
			t.Errorf("%v is not an ErrSyntax", e)
		}
		for j, f := range all {
			if i != j && errors.Is(e, f) {
				t.Errorf("%v matches %v", e, f)
			}
		}
	}
	if errors.Is(ErrNonASCII, ErrSyntax) {
		t.Error("ErrNonASCII must map to 5.6.7, not to the syntax family")
	}
}

func TestStringZero(t *testing.T) {
	t.Parallel()
	if s := (Address{}).String(); s != "" {
		t.Errorf("zero Address String() = %q, want empty", s)
	}
}

func TestParseDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		opts Options
		want string
		err  error
	}{
		{"Example.ORG", ascii, "example.org", nil},
		{"XN--MNCHEN-3YA.de", ascii, "xn--mnchen-3ya.de", nil},
		{"MÜNCHEN.de", utf8ok, "münchen.de", nil},
		{"ｅxample.org", utf8ok, "example.org", nil}, // fullwidth maps to ASCII
		{"l·l.cat", utf8ok, "l·l.cat", nil},
		{"faß.de", utf8ok, "faß.de", nil},
		{"例子.テスト", utf8ok, "例子.テスト", nil},
		{"münchen.de", ascii, "", ErrNonASCII},
		{"i♥ny.example", utf8ok, "", ErrIDN},
		{"xn--iny-zx5a.example", ascii, "", ErrIDN},
		{"xn--n3h.example", ascii, "", ErrIDN},
		{"xn--example.org", ascii, "", ErrIDN},
		{"xn--abc-.org", ascii, "", ErrLabel},
		{"аpple.com", utf8ok, "", ErrMixedScript},
		{"例子test.org", utf8ok, "例子test.org", nil}, // Han with Latin is allowed
		{"[10.0.0.1]", ascii, "", ErrAddressLiteral},
		{"example.org.", ascii, "", ErrTrailingDot},
		{"1.2.3.4", ascii, "", ErrTLD},
		{"example.123", ascii, "", ErrTLD},
		{"", ascii, "", ErrEmptyDomain},
	}
	for _, tt := range tests {
		got, err := ParseDomain(tt.in, tt.opts)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseDomain(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if _, err := Domain("münchen.de"); !errors.Is(err, ErrNonASCII) {
		t.Errorf("Domain accepted a U-label: %v", err)
	}
	if d, err := Domain("Mail.Example.org"); err != nil || d != "mail.example.org" {
		t.Errorf("Domain = %q, %v", d, err)
	}
}

func TestASCIIDomain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"münchen.de":  "xn--mnchen-3ya.de",
		"example.org": "example.org",
		"例子.测试":       "xn--fsqu00a.xn--0zwm56d",
	} {
		if got, err := ASCIIDomain(in); err != nil || got != want {
			t.Errorf("ASCIIDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
