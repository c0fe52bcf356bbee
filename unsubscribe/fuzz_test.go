package unsubscribe

import (
	"bytes"
	"testing"
)

// FuzzOpen: a token from the URL is a stranger's bytes. Open must never
// panic, and must accept only what Make made with the same key.
func FuzzOpen(f *testing.F) {
	tk, _ := NewTokens(bytes.Repeat([]byte{3}, KeySize))
	f.Add(tk.Make("news.clinic.test", "pat@example.net"))
	f.Add("")
	f.Add(".")
	f.Add("bmV3cy5jbGluaWMudGVzdApwYXRAZXhhbXBsZS5uZXQ.AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		d, a, err := tk.Open(token)
		if err != nil {
			return
		}
		if tk.Make(d, a) != token {
			t.Fatalf("Open accepted %q, which Make does not produce for %q %q", token, d, a)
		}
	})
}
