package aesgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	k, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("Patient: J. Doe, MRN 12345")
	sealed := k.Seal([]byte("msg:1"), plain)
	if bytes.Contains(sealed, plain) {
		t.Fatal("sealed bytes carry the plaintext")
	}
	if len(sealed) != 12+len(plain)+16 {
		t.Fatalf("sealed length %d, want nonce+plain+tag = %d", len(sealed), 12+len(plain)+16)
	}
	got, err := k.Open([]byte("msg:1"), sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if again := k.Seal([]byte("msg:1"), plain); bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same plaintext are equal: the nonce is not fresh")
	}
}

// Wrong associated data, wrong key, a flipped byte or a short input all
// give ErrOpen.
func TestOpenRefuses(t *testing.T) {
	k, _ := New(bytes.Repeat([]byte{7}, KeySize))
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	sealed := k.Seal([]byte("msg:1"), []byte("secret"))
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	cases := map[string]func() ([]byte, error){
		"other ad":  func() ([]byte, error) { return k.Open([]byte("msg:2"), sealed) },
		"other key": func() ([]byte, error) { return other.Open([]byte("msg:1"), sealed) },
		"flipped":   func() ([]byte, error) { return k.Open([]byte("msg:1"), flipped) },
		"short":     func() ([]byte, error) { return k.Open([]byte("msg:1"), sealed[:20]) },
		"empty":     func() ([]byte, error) { return k.Open([]byte("msg:1"), nil) },
	}
	for name, open := range cases {
		if p, err := open(); !errors.Is(err, ErrOpen) || p != nil {
			t.Errorf("%s: Open = %q, %v; want ErrOpen", name, p, err)
		}
	}
}

func TestNewRefusesOtherKeySizes(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
}

// What Seal writes is plain AES-256-GCM (nonce first): spools and portal
// stores written before this package existed still open.
func TestFormatIsStandardGCM(t *testing.T) {
	key := bytes.Repeat([]byte{3}, KeySize)
	k, _ := New(key)
	block, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(block)
	nonce := bytes.Repeat([]byte{1}, g.NonceSize())
	old := g.Seal(bytes.Clone(nonce), nonce, []byte("spooled"), []byte("ad"))
	if got, err := k.Open([]byte("ad"), old); err != nil || string(got) != "spooled" {
		t.Fatalf("Open(standard GCM) = %q, %v", got, err)
	}
	sealed := k.Seal([]byte("ad"), []byte("new"))
	if got, err := g.Open(nil, sealed[:12], sealed[12:], []byte("ad")); err != nil || string(got) != "new" {
		t.Fatalf("standard GCM open of Seal output = %q, %v", got, err)
	}
}

func TestNewKey(t *testing.T) {
	a, b := NewKey(), NewKey()
	if len(a) != KeySize || bytes.Equal(a, b) {
		t.Fatalf("NewKey: len %d, two keys equal: %v", len(a), bytes.Equal(a, b))
	}
}
