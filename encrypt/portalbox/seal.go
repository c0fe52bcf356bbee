package portalbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// KeySize is the size of the master key and of each message key: AES-256.
const KeySize = 32

// seal encrypts plain with AES-256-GCM under key, binding it to aad. The
// result is nonce || ciphertext.
func seal(key, plain []byte, aad string) ([]byte, error) {
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, g.NonceSize(), g.NonceSize()+len(plain)+g.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("portalbox: nonce: %w", err)
	}
	return g.Seal(out, out, plain, []byte(aad)), nil
}

// open reverses seal.
func open(key, sealed []byte, aad string) ([]byte, error) {
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < g.NonceSize()+g.Overhead() {
		return nil, errors.New("portalbox: sealed data too short")
	}
	n := g.NonceSize()
	plain, err := g.Open(nil, sealed[:n], sealed[n:], []byte(aad))
	if err != nil {
		return nil, errors.New("portalbox: sealed data does not authenticate")
	}
	return plain, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("portalbox: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("portalbox: %w", err)
	}
	return g, nil
}

// newKey returns a fresh message key.
func newKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("portalbox: message key: %w", err)
	}
	return k, nil
}

// newID returns a random file name stem, unrelated to the token.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("portalbox: id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// slot names "this queue ID for this recipient" without revealing the
// address: an HMAC under the master key.
func slot(master []byte, queueID, rcpt string) string {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(queueID))
	m.Write([]byte{0})
	m.Write([]byte(rcpt))
	return hex.EncodeToString(m.Sum(nil))
}
