package pgp

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/sealgate/sealgate/encrypt/mimeutil"
	"github.com/sealgate/sealgate/mailtext"
)

// ErrNoRecipient is returned when an EncryptRequest names no recipient key.
var ErrNoRecipient = errors.New("pgp: no recipient key")

// EncryptRequest is one message to encrypt as PGP/MIME.
type EncryptRequest struct {
	// Message is the original RFC 5322 message.
	Message []byte
	// To are the recipients' public keys (normally one).
	To []*openpgp.Entity
	// Archive, if set, is the organisation's key that can also decrypt.
	Archive *openpgp.Entity
	// Signer, if set, is the organisation's key (with a decrypted private
	// key) that signs the message inside the encryption (RFC 3156 §6.2).
	Signer *openpgp.Entity
	// Subject is the neutral outer Subject; "" means mimeutil.DefaultSubject.
	Subject string
	// Now is the time keys are checked against; zero means time.Now().
	Now time.Time
}

// preamble is shown by clients that do not understand PGP/MIME.
const preamble = "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156).\r\n"

// Encrypt returns req.Message as a PGP/MIME message (RFC 3156 §4): the
// original MIME entity with its headers protected, encrypted to every key in
// To plus Archive, ASCII armored, under a neutral outer header.
func Encrypt(req EncryptRequest) ([]byte, error) {
	to := recipients(req)
	if len(to) == 0 {
		return nil, ErrNoRecipient
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	for _, e := range to {
		if w := Weakness(e, now); w != "" {
			return nil, fmt.Errorf("%w: %s", ErrWeakKey, w)
		}
	}
	p, err := mimeutil.Protect(req.Message, req.Subject)
	if err != nil {
		return nil, fmt.Errorf("pgp: %w", err)
	}
	armored, err := encryptArmored(p.Inner, to, req.Signer, config(req.Now))
	if err != nil {
		return nil, err
	}
	boundary, err := mimeutil.Boundary()
	if err != nil {
		return nil, fmt.Errorf("pgp: %w", err)
	}
	ct := `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";` +
		"\r\n boundary=\"" + boundary + `"`
	return p.Message([]string{ct}, encryptedBody(boundary, armored)), nil
}

// recipients lists the keys to encrypt to, archive last.
func recipients(req EncryptRequest) []*openpgp.Entity {
	var to []*openpgp.Entity
	for _, e := range req.To {
		if e != nil {
			to = append(to, e)
		}
	}
	if len(to) > 0 && req.Archive != nil {
		to = append(to, req.Archive)
	}
	return to
}

// config is the OpenPGP configuration: AES-256 when every key allows it,
// SEIPD v1 with MDC (what GnuPG 2.2 and later read), no compression.
func config(now time.Time) *packet.Config {
	c := &packet.Config{DefaultCipher: packet.CipherAES256}
	if !now.IsZero() {
		c.Time = func() time.Time { return now }
	}
	return c
}

// encryptArmored encrypts (and optionally signs) plain and armors it with
// CRLF line endings.
func encryptArmored(plain []byte, to []*openpgp.Entity, signer *openpgp.Entity, cfg *packet.Config) ([]byte, error) {
	var out bytes.Buffer
	aw, err := armor.Encode(&out, "PGP MESSAGE", nil)
	if err != nil {
		return nil, fmt.Errorf("pgp: armor: %w", err)
	}
	hints := &openpgp.FileHints{IsBinary: true}
	pw, err := openpgp.Encrypt(aw, to, signer, hints, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgp: encrypt: %w", err)
	}
	if _, err := pw.Write(plain); err != nil {
		return nil, fmt.Errorf("pgp: encrypt: %w", err)
	}
	if err := pw.Close(); err != nil {
		return nil, fmt.Errorf("pgp: encrypt: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("pgp: armor: %w", err)
	}
	out.WriteString("\n")
	return mailtext.ToCRLF(out.Bytes()), nil
}

// encryptedBody is the multipart/encrypted body: the version part and the
// armored data part (RFC 3156 §4).
func encryptedBody(boundary string, armored []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(armored) + 512)
	b.WriteString(preamble)
	b.WriteString("--" + boundary + "\r\n")
	b.WriteString("Content-Type: application/pgp-encrypted\r\n")
	b.WriteString("Content-Description: PGP/MIME version identification\r\n\r\n")
	b.WriteString("Version: 1\r\n\r\n")
	b.WriteString("--" + boundary + "\r\n")
	b.WriteString("Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n")
	b.WriteString("Content-Description: OpenPGP encrypted message\r\n")
	b.WriteString("Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n")
	b.Write(armored)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes()
}
