package addr

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzParse checks Parse's invariants: it never panics; a parsed address
// re-parses, from its String form and with the same options, to itself; and
// the String form never holds control characters, white space, < or >.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"user@example.org", `"a b"@example.org`, "user%evil.test@gw.example"} {
		f.Add(s, false, false)
	}
	f.Fuzz(func(t *testing.T, s string, smtputf8, allowQuoted bool) {
		opts := Options{SMTPUTF8: smtputf8, AllowQuoted: allowQuoted}
		a, err := Parse(s, opts)
		if err != nil {
			if a != (Address{}) {
				t.Fatalf("Parse(%q) returned %#v with error %v", s, a, err)
			}
			return
		}
		out := a.String()
		for _, r := range out {
			if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("String() of Parse(%q) = %q holds %U", s, out, r)
			}
		}
		if strings.ContainsAny(out, "<>") || len(out) > 254 {
			t.Fatalf("String() of Parse(%q) = %q", s, out)
		}
		b, err := Parse(out, opts)
		if err != nil || b != a {
			t.Fatalf("Parse(%q) = %#v; Parse(String()=%q) = %#v, %v", s, a, out, b, err)
		}
	})
}
