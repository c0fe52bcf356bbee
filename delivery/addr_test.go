package delivery

import (
	"strings"
	"testing"
)

func TestParseAddr(t *testing.T) {
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
		w, err := parseAddr(in)
		if err != nil || w.s != want {
			t.Errorf("parseAddr(%q) = %q, %v; want %q", in, w.s, err, want)
		}
		if w.utf8 != !isASCII(want) {
			t.Errorf("parseAddr(%q): utf8 = %v", in, w.utf8)
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
		if w, err := parseAddr(in); err == nil {
			t.Errorf("parseAddr(%q) = %q, want an error", in, w.s)
		}
	}
}

// FuzzParseAddr checks that whatever parseAddr accepts is safe to write
// between angle brackets and stable when parsed again.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"user@example.org", `"a b"@x.org`, `"x\"y"@x.org`, "a..b@x.org", `"a\b"@x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		w, err := parseAddr(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(w.s, " <>\r\n\t\x00") || strings.Count(strings.TrimLeft(w.s, `"`), "@") < 1 {
			t.Fatalf("unsafe wire form %q from %q", w.s, in)
		}
		again, err := parseAddr(w.s)
		if err != nil || again.s != w.s {
			t.Fatalf("not stable: %q -> %q -> %q, %v", in, w.s, again.s, err)
		}
	})
}
