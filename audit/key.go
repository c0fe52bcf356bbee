package audit

import (
	"crypto/ed25519"

	"github.com/sealgate/sealgate/internal/keyfile"
)

// LoadOrCreateKey returns the checkpoint signing key held in the file at
// path (log.audit_key_file: a 32-byte Ed25519 seed), creating the file
// with a fresh key on first use (mode 0600, written and fsynced with its
// directory; see keyfile).
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	seed, err := keyfile.LoadOrCreate(path, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// LoadKey returns the key in the file at path and never creates one: a
// verifier that finds no key has nothing to check checkpoints against.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	seed, err := keyfile.Load(path, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
