package mailtext

import "testing"

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
