package queue

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// keySize is the AES-256 key length.
const keySize = 32

// sealMagic starts every sealed spool file; the digit is the format version.
const sealMagic = "SGQ1"

// errCorrupt means a spool file failed authentication or is malformed.
var errCorrupt = errors.New("spool file corrupt or not ours")

// sealer encrypts spool files with AES-256-GCM. Each file is bound to its
// queue ID and kind through the associated data, so files cannot be swapped
// between messages or between the envelope and the state.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("spool key must be %d bytes, got %d", keySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func aad(kind, id string) []byte {
	return []byte("sealgate spool v1 " + kind + " " + id)
}

// seal returns magic || nonce || ciphertext.
func (s *sealer) seal(kind, id string, plain []byte) []byte {
	ns := s.aead.NonceSize()
	out := make([]byte, len(sealMagic)+ns, len(sealMagic)+ns+len(plain)+s.aead.Overhead())
	copy(out, sealMagic)
	if _, err := rand.Read(out[len(sealMagic):]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never returns an error on Linux
	}
	return s.aead.Seal(out, out[len(sealMagic):], plain, aad(kind, id))
}

func (s *sealer) open(kind, id string, data []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(data) < len(sealMagic)+ns+s.aead.Overhead() || string(data[:len(sealMagic)]) != sealMagic {
		return nil, errCorrupt
	}
	nonce := data[len(sealMagic) : len(sealMagic)+ns]
	plain, err := s.aead.Open(nil, nonce, data[len(sealMagic)+ns:], aad(kind, id))
	if err != nil {
		return nil, errCorrupt
	}
	return plain, nil
}

// LoadOrCreateKey reads the spool key from path, or creates it (0600, in a
// directory made 0700) with a fresh random key when the file does not exist.
// The key file must be kept apart from the spool: whoever holds both can
// read every queued message.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != keySize {
			return nil, fmt.Errorf("spool key %s: want %d bytes, found %d", path, keySize, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("spool key: %w", err)
	}
	key = make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("spool key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool key: %w", err)
	}
	return key, f.Close()
}
