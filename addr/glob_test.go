package addr

import (
	"errors"
	"testing"
)

func TestMatchGlob(t *testing.T) {
	t.Parallel()
	a := func(local, domain string) Address { return Address{local, domain} }
	tests := []struct {
		pattern string
		addr    Address
		want    bool
	}{
		{"*", a("anyone", "anywhere.test"), true},
		{"*@example.org", a("x", "example.org"), true},
		{"*@Example.ORG", a("x", "example.org"), true},
		{"*@example.org", a("x", "mail.example.org"), false},
		{"*@example.org", a("x", "evilexample.org"), false},
		{"*@example.org", a("x", "example.org.evil.test"), false},
		{"user@example.org", a("user", "example.org"), true},
		{"user@example.org", a("USER", "example.org"), true},
		{"User@example.org", a("user", "example.org"), true},
		{"user@example.org", a("user2", "example.org"), false},
		{"user@example.org", a("user", "example.com"), false},
		{"*@*.example.org", a("x", "news.example.org"), true},
		{"*@*.example.org", a("x", "a.b.example.org"), true},
		{"*@*.example.org", a("x", "example.org"), false},
		{"*@*.example.org", a("x", "badexample.org"), false},
		{"user@*.example.org", a("user", "news.example.org"), true},
		{"user@*.example.org", a("other", "news.example.org"), false},
		{"*@münchen.de", a("x", "xn--mnchen-3ya.de"), true},
		{"*@xn--mnchen-3ya.de", a("x", "münchen.de"), true},
		{"ümlaut@example.org", a("ÜMLAUT", "example.org"), true},
		// Malformed patterns match nothing.
		{"", a("x", "example.org"), false},
		{"*@", a("x", "example.org"), false},
		{"@example.org", a("", "example.org"), false},
		{"us*@example.org", a("user", "example.org"), false},
		{"*@*", a("x", "example.org"), false},
		{"*@exa*.org", a("x", "example.org"), false},
		{"user%evil.test@example.org", a("user%evil.test", "example.org"), false},
		{"*@[127.0.0.1]", a("x", "[127.0.0.1]"), false},
		{"*@*example.org", a("x", "badexample.org"), false},
	}
	for _, tt := range tests {
		if got := MatchGlob(tt.pattern, tt.addr); got != tt.want {
			t.Errorf("MatchGlob(%q, %v) = %v, want %v", tt.pattern, tt.addr, got, tt.want)
		}
	}
}

func TestCheckGlob(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"*", "*@example.org", "user@example.org", "*@*.example.org", "a.b@*.example.org"} {
		if err := CheckGlob(p); err != nil {
			t.Errorf("CheckGlob(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", "**", "*@", "x", "us*@example.org", "*@*", "*@example.*", "*@.example.org", "a@b@example.org", "*@example.org."} {
		if err := CheckGlob(p); !errors.Is(err, ErrGlob) {
			t.Errorf("CheckGlob(%q) = %v, want ErrGlob", p, err)
		}
	}
}
