package smime

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/smallstep/pkcs7"

	"github.com/sealgate/sealgate/encrypt/mimeutil"
	"github.com/sealgate/sealgate/internal/pemkey"
	"github.com/sealgate/sealgate/mailtext"
)

// Signer is the organisation's signing identity.
type Signer struct {
	// Cert is the signing certificate; Chain its intermediates, issuer
	// first, included in the signature.
	Cert  *x509.Certificate
	Chain []*x509.Certificate
	// Key is Cert's private key.
	Key crypto.Signer
}

// LoadSigner reads a PEM certificate file (the signing certificate first,
// then any intermediates) and a PEM private key (PKCS#8, PKCS#1 or SEC 1).
func LoadSigner(certPath, keyPath string) (*Signer, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("smime: signer certificate: %w", err)
	}
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("smime: signer certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("smime: signer key: %w", err)
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	if !publicKeyEqual(certs[0].PublicKey, key.Public()) {
		return nil, errors.New("smime: signer key does not match the certificate")
	}
	return &Signer{Cert: certs[0], Chain: certs[1:], Key: key}, nil
}

// parsePrivateKey decodes the first PEM private key block.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	k, err := pemkey.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("smime: signer key: %w", err)
	}
	return k, nil
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}

// multipartSigned wraps entity (a CRLF MIME entity) in multipart/signed
// with a detached SHA-256 CMS signature (RFC 8551 §3.5.3).
func (s *Signer) multipartSigned(entity []byte) ([]byte, error) {
	sig, err := s.detached(entity)
	if err != nil {
		return nil, err
	}
	boundary, err := mimeutil.Boundary()
	if err != nil {
		return nil, fmt.Errorf("smime: %w", err)
	}
	var b bytes.Buffer
	b.Grow(len(entity) + len(sig)*2 + 512)
	b.WriteString("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n" +
		" micalg=sha-256; boundary=\"" + boundary + "\"\r\n\r\n")
	b.WriteString("This is a cryptographically signed message in MIME format.\r\n\r\n")
	b.WriteString("--" + boundary + "\r\n")
	b.Write(entity)
	// The CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1),
	// so the signed part keeps its own last line ending only with this one.
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: application/pkcs7-signature; name=smime.p7s\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=smime.p7s\r\n" +
		"Content-Description: S/MIME Cryptographic Signature\r\n\r\n")
	b.Write(mailtext.Base64Lines(sig))
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

// detached returns a DER CMS SignedData over content, without the content.
func (s *Signer) detached(content []byte) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, fmt.Errorf("smime: sign: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(s.Cert, s.Key, s.Chain, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("smime: sign: %w", err)
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("smime: sign: %w", err)
	}
	return der, nil
}
