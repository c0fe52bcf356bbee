// Package pgp encrypts outgoing mail with OpenPGP as PGP/MIME (RFC 3156),
// with the original headers protected inside the encrypted part. Recipient
// keys come from a keyring folder (Keyring) or from the recipient's domain
// through the Web Key Directory (WKDClient).
package pgp

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/sealgate/sealgate/encrypt/keydir"
	"github.com/sealgate/sealgate/encrypt/mimeutil"
)

// Keyring is a folder of OpenPGP public keys, indexed by the e-mail addresses
// of their user IDs. It is safe for concurrent use; Reload swaps the index
// atomically.
type Keyring struct {
	dir string
	log *slog.Logger

	// Reload, ReloadIfChanged and Len are the Folder's.
	*keydir.Folder[*openpgp.Entity]
}

// LoadKeyring reads every regular file in dir (hidden files excepted) as
// armored or binary public keys. Files that cannot be parsed and keys that
// are expired, revoked, cannot encrypt at now or are too weak for PHI (RSA,
// ElGamal or DSA below 2048 bits, a legacy algorithm) are skipped with a
// log line naming the file; only an unreadable dir is an error.
func LoadKeyring(dir string, now time.Time, log *slog.Logger) (*Keyring, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	k := &Keyring{dir: dir, log: log}
	k.Folder = &keydir.Folder[*openpgp.Entity]{Index: keydir.NewIndex(dir, k.loadFile, entityAddrs),
		Name: "pgp: keyring", Loaded: "pgp keyring loaded", Unit: "keys", Log: log}
	if err := k.Reload(now); err != nil {
		return nil, err
	}
	return k, nil
}

// Lookup returns the key for addr that can encrypt at now, preferring the
// most recently created. The domain is compared case-insensitively, the
// local part exactly.
func (k *Keyring) Lookup(addr string, now time.Time) (*openpgp.Entity, bool) {
	norm, ok := mimeutil.NormalizeAddr(addr)
	if !ok {
		return nil, false
	}
	cands := k.Candidates(norm)
	return pickEntity(cands, norm, now)
}

// pickEntity returns the newest entity among cands that has a valid
// identity for addr and an encryption key at now.
func pickEntity(cands []*openpgp.Entity, addr string, now time.Time) (*openpgp.Entity, bool) {
	var best *openpgp.Entity
	for _, e := range cands {
		if !hasAddr(e, addr, now) {
			continue
		}
		if _, ok := e.EncryptionKey(now); !ok {
			continue
		}
		if best == nil || e.PrimaryKey.CreationTime.After(best.PrimaryKey.CreationTime) {
			best = e
		}
	}
	return best, best != nil
}

// loadFile returns the usable keys of one file, logging what it skips.
func (k *Keyring) loadFile(name string, now time.Time) []*openpgp.Entity {
	log := k.log.With(slog.String("file", name))
	data, err := keydir.Read(filepath.Join(k.dir, name))
	if err != nil {
		log.Warn("pgp keyring: skipping unreadable file", slog.String("error", err.Error()))
		return nil
	}
	list, err := ParseKeys(data)
	if err != nil {
		log.Warn("pgp keyring: skipping file without usable OpenPGP keys", slog.String("error", err.Error()))
		return nil
	}
	var usable []*openpgp.Entity
	for _, e := range list {
		fpr := fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
		if reason := unusable(e, now); reason != "" {
			log.Warn("pgp keyring: skipping key", slog.String("fingerprint", fpr), slog.String("reason", reason))
			continue
		}
		if e.PrivateKey != nil {
			log.Warn("pgp keyring: file holds a secret key; only its public part is used", slog.String("fingerprint", fpr))
		}
		usable = append(usable, e)
	}
	return usable
}

// ParseKeys reads OpenPGP keys, armored or binary. A parser panic on hostile
// input is turned into an error.
func ParseKeys(data []byte) (list openpgp.EntityList, err error) {
	defer func() {
		if r := recover(); r != nil {
			list, err = nil, errors.New("pgp: key parser failed on malformed input")
		}
	}()
	if bytes.Contains(data, []byte("-----BEGIN PGP")) {
		list, err = readArmoredBlocks(data)
	} else {
		list, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("pgp: parse keys: %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("pgp: no keys found")
	}
	return list, nil
}

// readArmoredBlocks reads the keys of every armored block in data (an
// exported keyring is often several blocks concatenated).
func readArmoredBlocks(data []byte) (openpgp.EntityList, error) {
	var all openpgp.EntityList
	begin := []byte("-----BEGIN PGP")
	for {
		i := bytes.Index(data, begin)
		if i < 0 {
			return all, nil
		}
		data = data[i:]
		next := bytes.Index(data[len(begin):], begin)
		chunk := data
		if next >= 0 {
			chunk, data = data[:next+len(begin)], data[next+len(begin):]
		} else {
			data = nil
		}
		list, err := readArmoredBlock(chunk)
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
	}
}

// readArmoredBlock reads the keys of one armored block.
func readArmoredBlock(chunk []byte) (openpgp.EntityList, error) {
	block, err := armor.Decode(bytes.NewReader(chunk))
	if err != nil {
		return nil, err
	}
	if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
		return nil, fmt.Errorf("unexpected armor block type %q", block.Type)
	}
	return openpgp.ReadKeyRing(block.Body)
}

// unusable says why e cannot be used for encryption at now ("" if it can).
func unusable(e *openpgp.Entity, now time.Time) string {
	if e.Revoked(now) {
		return "revoked"
	}
	if sig, _ := e.PrimarySelfSignature(); sig == nil {
		return "no valid self-signature"
	} else if e.PrimaryKey.KeyExpired(sig, now) || sig.SigExpired(now) {
		return "expired"
	}
	if _, ok := e.EncryptionKey(now); !ok {
		return "no valid encryption-capable key"
	}
	if w := Weakness(e, now); w != "" {
		return "too weak for PHI: " + w
	}
	if len(entityAddrs(e, now)) == 0 {
		return "no user ID with a usable e-mail address"
	}
	return ""
}

// entityAddrs returns the normalized addresses of e's valid user IDs.
func entityAddrs(e *openpgp.Entity, now time.Time) []string {
	var out []string
	for _, id := range e.Identities {
		if !identityValid(id, now) {
			continue
		}
		if a, ok := mimeutil.NormalizeAddr(id.UserId.Email); ok {
			out = append(out, a)
		}
	}
	return out
}

// hasAddr reports whether e has a valid identity for the normalized addr.
func hasAddr(e *openpgp.Entity, addr string, now time.Time) bool {
	for _, a := range entityAddrs(e, now) {
		if a == addr {
			return true
		}
	}
	return false
}

// identityValid reports whether a user ID is self-signed, unexpired and not
// revoked at now.
func identityValid(id *openpgp.Identity, now time.Time) bool {
	return id.UserId != nil && id.SelfSignature != nil &&
		!id.SelfSignature.SigExpired(now) && !id.Revoked(now)
}
