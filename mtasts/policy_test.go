package mtasts

import (
	"errors"
	"testing"
	"time"
)

func TestParseRecord(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"v=STSv1; id=20160831085700Z;": "20160831085700Z",
		"v=STSv1;id=abc":               "abc",
		"v=STSv1; ext=1; id=X1 ":       "X1",
	}
	for txt, want := range good {
		if id, err := ParseRecord(txt); err != nil || id != want {
			t.Errorf("%q: %q %v", txt, id, err)
		}
	}
	for _, txt := range []string{"v=spf1 -all", "id=1; v=STSv1", "v=STSv1;", "v=STSv1; id=has-dash", "v=STSv1; id=012345678901234567890123456789012"} {
		if _, err := ParseRecord(txt); !errors.Is(err, ErrRecord) {
			t.Errorf("%q accepted", txt)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET.\r\nmax_age: 604800\r\nfuture: x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != ModeEnforce || p.MaxAge != 7*24*time.Hour || len(p.MX) != 2 || p.MX[1] != "*.example.net" {
		t.Errorf("%+v", p)
	}
	if s := p.Strings(); len(s) != 6 || s[0] != "version: STSv1" {
		t.Errorf("strings %q", s)
	}
	bad := []string{
		"mode: enforce\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\n",
		"version: STSv1\ngarbage\n",
	}
	for _, b := range bad {
		if _, err := ParsePolicy([]byte(b)); !errors.Is(err, ErrPolicy) {
			t.Errorf("%q accepted", b)
		}
	}
	p, err = ParsePolicy([]byte("version: STSv1\nmode: none\nmax_age: 9999999999\n"))
	if err != nil || p.MaxAge != maxMaxAge {
		t.Errorf("mode none: %+v %v", p, err)
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	p := &Policy{MX: []string{"mail.example.com", "*.example.net"}}
	for host, want := range map[string]bool{
		"mail.example.com":   true,
		"MAIL.example.com.":  true,
		"mx1.example.net":    true,
		"example.net":        false,
		"a.mx1.example.net":  false,
		"other.example.com":  false,
		"mail.example.com.x": false,
	} {
		if got := p.Match(host); got != want {
			t.Errorf("Match(%q) = %v", host, got)
		}
	}
}
