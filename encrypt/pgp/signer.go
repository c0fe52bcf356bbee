package pgp

import (
	"errors"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sealgate/sealgate/encrypt/keydir"
)

// LoadSigningKey reads the organisation's secret key (armored or binary)
// from path, decrypts it with passphrase when it is protected, and checks
// that it can sign at now. The result is EncryptRequest.Signer.
func LoadSigningKey(path string, passphrase []byte, now time.Time) (*openpgp.Entity, error) {
	data, err := keydir.Read(path)
	if err != nil {
		return nil, fmt.Errorf("pgp: signing key: %w", err)
	}
	list, err := ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("pgp: signing key: %w", err)
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("pgp: signing key: file holds %d keys, want 1", len(list))
	}
	e := list[0]
	if e.PrivateKey == nil {
		return nil, errors.New("pgp: signing key: file holds no secret key")
	}
	if err := e.DecryptPrivateKeys(passphrase); err != nil {
		return nil, fmt.Errorf("pgp: signing key: %w", err)
	}
	k, ok := e.SigningKey(now)
	if !ok || k.PrivateKey == nil || k.PrivateKey.Encrypted {
		return nil, errors.New("pgp: signing key: no usable signing key (expired, revoked or without secret part)")
	}
	return e, nil
}
