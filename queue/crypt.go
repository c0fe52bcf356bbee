package queue

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sealgate/sealgate/internal/aesgcm"
	"github.com/sealgate/sealgate/internal/keyfile"
)

// keySize is the AES-256 key length.
const keySize = aesgcm.KeySize

// errCorrupt means a spool record failed authentication or is malformed.
var errCorrupt = errors.New("spool record corrupt or not ours")

// spoolCrypt encrypts the spool's records with AES-256-GCM under the spool
// key. Each record is bound to its queue ID and kind through the associated
// data, so records cannot be swapped between messages or between the
// envelope and the state.
type spoolCrypt struct {
	key *aesgcm.Key
}

func newSpoolCrypt(key []byte) (*spoolCrypt, error) {
	k, err := aesgcm.New(key)
	if err != nil {
		return nil, fmt.Errorf("spool key: %w", err)
	}
	return &spoolCrypt{key: k}, nil
}

// encrypt returns nonce || ciphertext+tag.
func (s *spoolCrypt) encrypt(aad, plain []byte) []byte { return s.key.Seal(aad, plain) }

// decrypt returns the plaintext of a record's payload, or errCorrupt.
func (s *spoolCrypt) decrypt(aad, data []byte) ([]byte, error) {
	plain, err := s.key.Open(aad, data)
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
//
// A key is created only for a spool that holds nothing encrypted: when the key
// file is missing but a segment file in spoolDir has data, the key that
// encrypted it is lost or misplaced, and a new one would open none of it. That
// is an error naming the file and the spool, and nothing is created.
func LoadOrCreateKey(path, spoolDir string) ([]byte, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		if err := checkNothingEncrypted(path, spoolDir); err != nil {
			return nil, err
		}
	}
	key, err := keyfile.LoadOrCreate(path, keySize)
	if err != nil {
		return nil, fmt.Errorf("spool key: %w", err)
	}
	return key, nil
}

// checkNothingEncrypted returns an error if the spool folder holds a segment
// file with data in it. An absent spool folder holds nothing.
func checkNothingEncrypted(keyPath, spoolDir string) error {
	entries, err := os.ReadDir(spoolDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool key: %s is missing and the spool cannot be read to see whether it needs it: %w", keyPath, err)
	}
	n := 0
	for _, e := range entries {
		if _, ok := parseSegName(e.Name()); !ok || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err != nil || fi.Size() > 0 {
			n++ // unreadable counts: fail closed
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("spool key: %s does not exist, but the spool %s holds %d segment file(s) of queued mail encrypted with a key; "+
		"a new key could open none of it, so none is made: restore the key file from a backup, "+
		"or stop and move the spool folder aside to start with an empty queue", keyPath, spoolDir, n)
}
