package pgp

import (
	"errors"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// ErrWeakKey is returned by Encrypt when a recipient or archive key is too
// weak for PHI.
var ErrWeakKey = errors.New("pgp: key too weak for PHI")

// MinFiniteFieldBits is the smallest RSA, ElGamal or DSA key sealgate
// encrypts PHI to or accepts as a primary key (NIST SP 800-131A: 2048).
const MinFiniteFieldBits = 2048

// Weakness says why e is too weak for PHI at now ("" if it is not): its
// primary key, or the subkey it would be encrypted to, is RSA, ElGamal or
// DSA below MinFiniteFieldBits, uses a legacy algorithm (RSA encrypt-only
// or sign-only, ElGamal encrypt-or-sign, anything unknown), or is not a
// version 4 or later key.
func Weakness(e *openpgp.Entity, now time.Time) string {
	if r := weakKey("primary key", e.PrimaryKey); r != "" {
		return r
	}
	if k, ok := e.EncryptionKey(now); ok && k.PublicKey != e.PrimaryKey {
		return weakKey("encryption subkey", k.PublicKey)
	}
	return ""
}

// weakKey judges one public key; what names it in the reason.
func weakKey(what string, pk *packet.PublicKey) string {
	if pk.Version < 4 {
		return fmt.Sprintf("%s is a version %d key (legacy)", what, pk.Version)
	}
	var name string
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA:
		name = "RSA"
	case packet.PubKeyAlgoElGamal:
		name = "ElGamal"
	case packet.PubKeyAlgoDSA:
		name = "DSA"
	case packet.PubKeyAlgoECDH, packet.PubKeyAlgoECDSA, packet.PubKeyAlgoEdDSA,
		packet.PubKeyAlgoX25519, packet.PubKeyAlgoX448, packet.PubKeyAlgoEd25519, packet.PubKeyAlgoEd448,
		packet.PubKeyAlgoMlkem768X25519, packet.PubKeyAlgoMlkem1024X448,
		packet.PubKeyAlgoMldsa65Ed25519, packet.PubKeyAlgoMldsa87Ed448:
		return "" // elliptic curves of 255 bits or more, and hybrids with them
	default:
		return fmt.Sprintf("%s uses legacy public-key algorithm %d", what, pk.PubKeyAlgo)
	}
	bits, err := pk.BitLength()
	if err != nil {
		return fmt.Sprintf("%s: %s key of unknown size", what, name)
	}
	if int(bits) < MinFiniteFieldBits {
		return fmt.Sprintf("%s is %s of %d bits (at least %d needed)", what, name, bits, MinFiniteFieldBits)
	}
	return ""
}
