// Package keywrap is the portal's key wrapping: the portal master key and
// what it protects. Every pickup message's content is encrypted with its own
// random AES-256-GCM key (EncryptContent); that message key is stored only
// wrapped (AES-256-GCM again) by the master key, which lives in a file apart
// from the store. Destroying a wrapped key, or the encrypted content, makes
// the message unreadable for good. The master key also wraps small secrets
// (TOTP keys, shared sessions) and keys the hashes of one-time codes.
package keywrap

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/sealgate/sealgate/internal/aesgcm"
	"github.com/sealgate/sealgate/internal/keyfile"
)

// KeySize is the size of the master key and of every message key.
const KeySize = aesgcm.KeySize

// ErrDecrypt is returned when encrypted content or a wrapped key does not
// authenticate: wrong key, wrong message ID, or tampering.
var ErrDecrypt = errors.New("keywrap: cannot decrypt: wrong key, wrong ID or tampered data")

// Master is the portal master key. It wraps message keys and derives the
// keys used to hash one-time codes. It is safe for concurrent use.
type Master struct {
	wrap    *aesgcm.Key
	codeKey []byte
}

// NewMaster returns a Master for a 32-byte key.
func NewMaster(key []byte) (*Master, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("portal master key: want %d bytes, got %d", KeySize, len(key))
	}
	wrap, err := aesgcm.New(derive(key, "sealgate portal wrap v1"))
	if err != nil {
		return nil, fmt.Errorf("keywrap: %w", err)
	}
	return &Master{wrap: wrap, codeKey: derive(key, "sealgate portal code v1")}, nil
}

// LoadOrCreate reads the master key from path, or creates it with a fresh
// random key when the file does not exist (see keyfile.LoadOrCreate: mode
// 0600 in a directory made 0700, written durably; a file open to group or
// others, or of the wrong size, is refused).
func LoadOrCreate(path string) (*Master, error) {
	key, err := keyfile.LoadOrCreate(path, KeySize)
	if err != nil {
		return nil, fmt.Errorf("portal master key: %w", err)
	}
	return NewMaster(key)
}

// NewMessageKey returns a fresh message key and its wrapped form, bound to
// the message ID.
func (m *Master) NewMessageKey(id string) (key, wrapped []byte) {
	key = aesgcm.NewKey()
	return key, m.wrap.Seal([]byte("key:"+id), key)
}

// Unwrap recovers the message key wrapped for id.
func (m *Master) Unwrap(id string, wrapped []byte) ([]byte, error) {
	return openWith(m.wrap, []byte("key:"+id), wrapped)
}

// WrapSecret wraps a small secret (a TOTP key) under the master key,
// bound to label.
func (m *Master) WrapSecret(label string, secret []byte) []byte {
	return m.wrap.Seal([]byte("secret:"+label), secret)
}

// UnwrapSecret recovers what WrapSecret wrapped for the same label.
func (m *Master) UnwrapSecret(label string, wrapped []byte) ([]byte, error) {
	return openWith(m.wrap, []byte("secret:"+label), wrapped)
}

// CodeHash is the keyed hash under which a one-time code for message id is
// stored: a leaked store does not let anyone try codes offline.
func (m *Master) CodeHash(id, code string) []byte {
	mac := hmac.New(sha256.New, m.codeKey)
	mac.Write([]byte(id + "\x00" + code))
	return mac.Sum(nil)
}

// EncryptContent encrypts a message's content under its message key, bound
// to the message ID.
func EncryptContent(key []byte, id string, plain []byte) ([]byte, error) {
	k, err := aesgcm.New(key)
	if err != nil {
		return nil, fmt.Errorf("keywrap: %w", err)
	}
	return k.Seal([]byte("msg:"+id), plain), nil
}

// DecryptContent decrypts what EncryptContent produced for the same key
// and ID.
func DecryptContent(key []byte, id string, ciphertext []byte) ([]byte, error) {
	k, err := aesgcm.New(key)
	if err != nil {
		return nil, fmt.Errorf("keywrap: %w", err)
	}
	return openWith(k, []byte("msg:"+id), ciphertext)
}

// openWith opens what k sealed with ad (aesgcm's terms); a value that does
// not open is ErrDecrypt.
func openWith(k *aesgcm.Key, ad, sealed []byte) ([]byte, error) {
	plain, err := k.Open(ad, sealed)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

func derive(key []byte, label string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(label))
	return mac.Sum(nil)
}
