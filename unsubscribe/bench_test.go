package unsubscribe

import (
	"bytes"
	"strings"
	"testing"
)

// BenchmarkAddHeaders is the per-recipient cost the courier adds to a
// 20 kB newsletter: a token and a copy with the two fields.
func BenchmarkAddHeaders(b *testing.B) {
	tk, _ := NewTokens(bytes.Repeat([]byte{5}, KeySize))
	msg := []byte("From: News <news@clinic.test>\r\nTo: pat@example.net\r\nSubject: Flu shots\r\n\r\n" +
		strings.Repeat("Walk-in flu shots Monday to Friday at every clinic.\r\n", 380))
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		tok := tk.Make("clinic.test", "pat@example.net")
		if _, err := AddHeaders(msg, Link("https://secure.clinic.test", tok), "", tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen is the cost of checking a link's token on the portal.
func BenchmarkOpen(b *testing.B) {
	tk, _ := NewTokens(bytes.Repeat([]byte{5}, KeySize))
	tok := tk.Make("clinic.test", "pat@example.net")
	for b.Loop() {
		if _, _, err := tk.Open(tok); err != nil {
			b.Fatal(err)
		}
	}
}
