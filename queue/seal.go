package queue

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/sealgate/sealgate/internal/keyfile"
)

// keySize is the AES-256 key length.
const keySize = 32

// errCorrupt means a spool record failed authentication or is malformed.
var errCorrupt = errors.New("spool record corrupt or not ours")

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

// seal returns nonce || ciphertext+tag.
func (s *sealer) seal(aad, plain []byte) []byte {
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never returns an error on Linux
	}
	return s.aead.Seal(out, out, plain, aad)
}

func (s *sealer) open(aad, data []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(data) < ns+s.aead.Overhead() {
		return nil, errCorrupt
	}
	plain, err := s.aead.Open(nil, data[:ns], data[ns:], aad)
	if err != nil {
		return nil, errCorrupt
	}
	return plain, nil
}

// LoadOrCreateKey reads the spool key from path, or creates it with a fresh
// random key when the file does not exist (see keyfile.LoadOrCreate: mode
// 0600 in a directory made 0700, written durably; a file open to group or
// others, or of the wrong size, is refused). The key file must be kept apart
// from the spool: whoever holds both can read every queued message.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := keyfile.LoadOrCreate(path, keySize)
	if err != nil {
		return nil, fmt.Errorf("spool key: %w", err)
	}
	return key, nil
}
