package mailtext

import (
	"regexp"
	"testing"
)

func TestToCRLF(t *testing.T) {
	in := []byte("a\r\nb\nc")
	if got := string(ToCRLF(in)); got != "a\r\nb\r\nc" {
		t.Errorf("ToCRLF = %q", got)
	}
	same := []byte("a\r\n")
	if &ToCRLF(same)[0] != &same[0] {
		t.Error("ToCRLF copied an already-canonical slice")
	}
}

func TestToCRLFLeavesLoneCR(t *testing.T) {
	if got := string(ToCRLF([]byte("\na\rb\n"))); got != "\r\na\rb\r\n" {
		t.Errorf("ToCRLF = %q", got)
	}
}

func TestMessageIDAndBoundary(t *testing.T) {
	id := MessageID("gw.example.org")
	if !regexp.MustCompile(`^<[0-9a-f]{32}@gw\.example\.org>$`).MatchString(id) || id == MessageID("gw.example.org") {
		t.Errorf("MessageID = %q (or not fresh)", id)
	}
	b := Boundary()
	// RFC 2046 bchars, at most 70 characters.
	if !regexp.MustCompile(`^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$`).MatchString(b) || b == Boundary() {
		t.Errorf("Boundary = %q (or not fresh)", b)
	}
}

func TestSplitHeader(t *testing.T) {
	cases := []struct {
		in, head, body string
		ok             bool
	}{
		{"Subject: a\r\n\r\nbody\r\n\r\nmore", "Subject: a\r\n\r\n", "body\r\n\r\nmore", true},
		{"\r\nbody\r\n\r\nmore", "\r\n", "body\r\n\r\nmore", true},
		{"Subject: a\r\n\r\n", "Subject: a\r\n\r\n", "", true},
		{"Subject: a\r\nTo: b\r\n", "Subject: a\r\nTo: b\r\n", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		head, body, ok := SplitHeader([]byte(c.in))
		if string(head) != c.head || string(body) != c.body || ok != c.ok {
			t.Errorf("SplitHeader(%q) = %q, %q, %v; want %q, %q, %v", c.in, head, body, ok, c.head, c.body, c.ok)
		}
	}
}
