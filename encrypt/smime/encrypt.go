package smime

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"

	"github.com/smallstep/pkcs7"

	"github.com/sealgate/sealgate/encrypt/mimeutil"
	"github.com/sealgate/sealgate/mailtext"
)

// ErrNotInitialized is returned by Encrypt when Init has not set the content
// encryption algorithm: the library would otherwise use DES.
var ErrNotInitialized = errors.New("smime: content encryption is not AES-256-CBC; call smime.Init at start")

// ErrNoRecipient is returned when an EncryptRequest names no certificate.
var ErrNoRecipient = errors.New("smime: no recipient certificate")

// Init selects AES-256-CBC content encryption and RSA PKCS#1 v1.5 key
// transport (what every S/MIME client and OpenSSL read) in the pkcs7
// library. The library keeps these in package variables, so call Init once
// at start, before any concurrent use; Encrypt refuses to run without it.
// pkcs7's AES-GCM is not used: it puts it in EnvelopedData, which is not
// interoperable (RFC 5084 wants AuthEnvelopedData, which this package
// writes itself). Only the first call writes them, so starting several
// gateways in one process is safe.
func Init() {
	initOnce.Do(func() {
		pkcs7.ContentEncryptionAlgorithm = pkcs7.EncryptionAlgorithmAES256CBC
		pkcs7.KeyEncryptionAlgorithm = pkcs7.OIDEncryptionAlgorithmRSA
	})
}

// initOnce guards the library's package variables.
var initOnce sync.Once

// EncryptRequest is one message to encrypt as S/MIME.
type EncryptRequest struct {
	// Message is the original RFC 5322 message.
	Message []byte
	// To are the recipients' certificates (normally one).
	To []*x509.Certificate
	// Archive, if set, is the organisation's certificate that can also
	// decrypt.
	Archive *x509.Certificate
	// Signer, if set, signs the message inside the envelope.
	Signer *Signer
	// Subject is the neutral outer Subject; "" means mimeutil.DefaultSubject.
	Subject string
	// Content is the content encryption, AES256GCM or AES256CBC; "" means
	// ContentFor the certificates encrypted to.
	Content string
}

// Encrypt returns req.Message as an S/MIME message (RFC 8551 §3.3): the
// original MIME entity with its headers protected, optionally signed
// (multipart/signed, §3.5.3), encrypted to every certificate in To plus
// Archive, base64 encoded under a neutral outer header. The content is
// encrypted as req.Content says: AES-256-GCM AuthEnvelopedData
// (smime-type=authEnveloped-data, RFC 5083/5084) or AES-256-CBC
// EnvelopedData (smime-type=enveloped-data).
func Encrypt(req EncryptRequest) ([]byte, error) {
	if pkcs7.ContentEncryptionAlgorithm != pkcs7.EncryptionAlgorithmAES256CBC {
		return nil, ErrNotInitialized
	}
	certs := recipients(req)
	if len(certs) == 0 {
		return nil, ErrNoRecipient
	}
	alg := req.Content
	if alg == "" {
		alg = ContentFor(certs)
	}
	if alg != AES256GCM && alg != AES256CBC {
		return nil, fmt.Errorf("smime: unknown content encryption %q", alg)
	}
	p, err := mimeutil.Protect(req.Message, req.Subject)
	if err != nil {
		return nil, fmt.Errorf("smime: %w", err)
	}
	inner := p.Inner
	if req.Signer != nil {
		if inner, err = req.Signer.multipartSigned(inner); err != nil {
			return nil, err
		}
	}
	smimeType, der, err := envelop(alg, inner, certs)
	if err != nil {
		return nil, fmt.Errorf("smime: encrypt: %w", err)
	}
	content := []string{
		"Content-Type: application/pkcs7-mime; smime-type=" + smimeType + "; name=smime.p7m",
		"Content-Transfer-Encoding: base64",
		"Content-Disposition: attachment; filename=smime.p7m",
		"Content-Description: S/MIME Encrypted Message",
	}
	return p.Message(content, base64Body(der)), nil
}

// envelop encrypts content with alg and returns the smime-type parameter
// and the DER ContentInfo.
func envelop(alg string, content []byte, certs []*x509.Certificate) (string, []byte, error) {
	if alg == AES256GCM {
		der, err := authEnvelop(content, certs)
		return "authEnveloped-data", der, err // RFC 8551 §3.2.2
	}
	der, err := pkcs7.Encrypt(content, certs)
	return "enveloped-data", der, err
}

// recipients lists the certificates to encrypt to, archive last.
func recipients(req EncryptRequest) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range req.To {
		if c != nil {
			out = append(out, c)
		}
	}
	if len(out) > 0 && req.Archive != nil {
		out = append(out, req.Archive)
	}
	return out
}

// base64Body encodes der in 76-character CRLF lines.
func base64Body(der []byte) []byte {
	var b bytes.Buffer
	b.Grow(base64.StdEncoding.EncodedLen(len(der)) * 78 / 76)
	b.Write(mailtext.Base64Lines(der))
	return b.Bytes()
}
