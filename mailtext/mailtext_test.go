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
