// Package aesgcm seals byte strings with AES-256-GCM under a 32-byte key,
// each bound to associated data that names what it is (a spool record's
// queue ID and kind, a portal message's ID). It is the one place sealgate
// sets up AES-GCM for data at rest: the spool, the portal's message keys and
// secrets, and the portal's message content all use it.
//
// A sealed value is the random 12-byte nonce followed by the ciphertext and
// its 16-byte tag. Opening fails with ErrOpen, and says nothing more, when
// the key, the associated data or a single byte is wrong.
package aesgcm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the key length: AES-256.
const KeySize = 32

// ErrOpen is returned when sealed bytes do not authenticate under the key
// and associated data given, or are too short to be sealed bytes.
var ErrOpen = errors.New("aesgcm: sealed data does not open")

// Key seals and opens under one key. It is safe for concurrent use.
type Key struct {
	aead cipher.AEAD
}

// New returns a Key for a KeySize-byte key.
func New(key []byte) (*Key, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("aesgcm: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aesgcm: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("aesgcm: %w", err)
	}
	return &Key{aead: aead}, nil
}

// Seal returns nonce || ciphertext+tag of plain, bound to ad.
func (k *Key) Seal(ad, plain []byte) []byte {
	ns := k.aead.NonceSize()
	out := make([]byte, ns, ns+len(plain)+k.aead.Overhead())
	rand.Read(out) // crypto/rand never fails; it aborts the program instead
	return k.aead.Seal(out, out, plain, ad)
}

// Open returns what Seal sealed under the same key and ad, or ErrOpen.
func (k *Key) Open(ad, sealed []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < ns+k.aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := k.aead.Open(nil, sealed[:ns], sealed[ns:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// NewKey returns a fresh random KeySize-byte key.
func NewKey() []byte {
	key := make([]byte, KeySize)
	rand.Read(key)
	return key
}
