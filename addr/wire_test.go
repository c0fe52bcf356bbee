package addr

import (
	"errors"
	"strings"
	"testing"
)

func TestWire(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"user@example.org":           "user@example.org",
		"First.Last+tag@Example.org": "First.Last+tag@Example.org",
		`"user"@example.org`:         "user@example.org",
		`"a..b"@example.org`:         `"a..b"@example.org`,
		`"a\"b"@example.org`:         `"a\"b"@example.org`,
		`"a\\b"@example.org`:         `"a\\b"@example.org`,
		`"a\b"@example.org`:          "ab@example.org",
		`"x@y"@example.org`:          `"x@y"@example.org`,
		"a..b@example.org":           `"a..b"@example.org`,
		"user%other@example.org":     "user%other@example.org",
		"jöhn@exämple.org":           "jöhn@exämple.org",
	}
	for in, want := range ok {
		w, nonASCII, err := Wire(in)
		if err != nil || w != want {
			t.Errorf("Wire(%q) = %q, %v; want %q", in, w, err, want)
		}
		if nonASCII != !isASCII(want) {
			t.Errorf("Wire(%q): nonASCII = %v", in, nonASCII)
		}
	}
	bad := []string{
		"", "user", "@example.org", "user@", "a@b@example.org", "user @example.org",
		"user@example.org ", "<user@example.org>", "user@example.org>", "us\ter@example.org",
		"user@exa\x00mple.org", "user@example.org\r\n", `"x> NOTIFY=SUCCESS"@example.org`,
		`"unterminated@example.org`, `""@example.org`, `"a"b@example.org`, "user@[127.0.0.1]",
		"user@example.org.", "user@.example.org", "user@-example.org", "user@exa..mple.org",
		"us(er)@example.org", "us,er@example.org", "us\"er@example.org", "user@exam_ple.org",
		"\xff@example.org", "user@example.org\x7f", strings.Repeat("a", 250) + "@example.org",
		"a@b\u00a0c.org",
	}
	for _, in := range bad {
		if w, _, err := Wire(in); err == nil || !errors.Is(err, ErrSyntax) {
			t.Errorf("Wire(%q) = %q, %v; want an ErrSyntax error", in, w, err)
		}
	}
}

// FuzzWire checks that whatever Wire accepts is safe to write
// between angle brackets and stable when parsed again.
func FuzzWire(f *testing.F) {
	for _, s := range []string{"user@example.org", `"a b"@x.org`, `"x\"y"@x.org`, "a..b@x.org", `"a\b"@x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		w, _, err := Wire(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(w, " <>\r\n\t\x00") || strings.Count(strings.TrimLeft(w, `"`), "@") < 1 {
			t.Fatalf("unsafe wire form %q from %q", w, in)
		}
		again, _, err := Wire(w)
		if err != nil || again != w {
			t.Fatalf("not stable: %q -> %q -> %q, %v", in, w, again, err)
		}
	})
}

func TestDomainOfLocalOf(t *testing.T) {
	cases := []struct{ in, local, domain string }{
		{"Ann@Clinic.Example", "Ann", "clinic.example"},
		{`"x@y"@Example.org`, `"x@y"`, "example.org"},
		{"postmaster", "postmaster", ""},
		{"user@", "user", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		if got := DomainOf(c.in); got != c.domain {
			t.Errorf("DomainOf(%q) = %q, want %q", c.in, got, c.domain)
		}
		if got := LocalOf(c.in); got != c.local {
			t.Errorf("LocalOf(%q) = %q, want %q", c.in, got, c.local)
		}
	}
}
