package smime

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// Content encryption algorithms, as EncryptRequest.Content and the audit
// log name them.
const (
	// AES256GCM is AES-256-GCM in CMS AuthEnvelopedData (RFC 5083, RFC
	// 5084): the content is authenticated, so it cannot be altered without
	// the recipient noticing (no EFAIL-style malleability).
	AES256GCM = "aes-256-gcm"
	// AES256CBC is AES-256-CBC in CMS EnvelopedData (RFC 5652, RFC 3565):
	// what every S/MIME client reads, but malleable without a signature.
	AES256CBC = "aes-256-cbc"
)

// Object identifiers of the CMS structures written here.
var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}         // RFC 5652 §4
	oidAuthEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 23} // RFC 5083 §1
	oidAES256GCM         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}    // RFC 5084 §3.2
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}         // RFC 3370 §4.2.1
	oidSMIMECapabilities = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 15}        // RFC 4262, RFC 8551 §2.5.2
)

// gcmTagSize is the authentication tag length written (aes-ICVlen, RFC
// 5084 §3.2: 12 is the default, 16 the strongest).
const (
	gcmTagSize   = 16
	gcmNonceSize = 12
)

// smimeCapability is one entry of the SMIMECapabilities sequence (RFC 8551
// §2.5.2).
type smimeCapability struct {
	ID     asn1.ObjectIdentifier
	Params asn1.RawValue `asn1:"optional"`
}

// ContentFor returns the content encryption for certs: AES256GCM when
// every certificate announces AES-256-GCM in an S/MIME capabilities
// extension (RFC 4262), else AES256CBC, which every client reads.
func ContentFor(certs []*x509.Certificate) string {
	if len(certs) == 0 {
		return AES256CBC
	}
	for _, c := range certs {
		if c == nil || !announcesGCM(c) {
			return AES256CBC
		}
	}
	return AES256GCM
}

// announcesGCM reports whether cert's S/MIME capabilities extension lists
// id-aes256-GCM. A malformed extension announces nothing.
func announcesGCM(cert *x509.Certificate) bool {
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSMIMECapabilities) {
			continue
		}
		var caps []smimeCapability
		rest, err := asn1.Unmarshal(ext.Value, &caps)
		if err != nil || len(rest) != 0 {
			return false
		}
		return slices.ContainsFunc(caps, func(c smimeCapability) bool { return c.ID.Equal(oidAES256GCM) })
	}
	return false
}

// CapabilitiesExtension is an S/MIME capabilities certificate extension
// announcing AES-256-GCM, for tests and for tools that issue recipient
// certificates.
func CapabilitiesExtension() pkix.Extension {
	v, _ := asn1.Marshal([]smimeCapability{{ID: oidAES256GCM}})
	return pkix.Extension{Id: oidSMIMECapabilities, Value: v}
}

// contentInfo is RFC 5652 §3 ContentInfo; Content is the [0] EXPLICIT
// wrapper with its inner encoding.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue
}

// authEnvelopedData is RFC 5083 §2.1, without the optional originatorInfo,
// authAttrs and unauthAttrs.
type authEnvelopedData struct {
	Version                  int
	RecipientInfos           []keyTransRecipientInfo `asn1:"set"`
	AuthEncryptedContentInfo encryptedContentInfo
	MAC                      []byte
}

// keyTransRecipientInfo is RFC 5652 §6.2.1 with an IssuerAndSerialNumber
// rid (version 0).
type keyTransRecipientInfo struct {
	Version                int
	RID                    issuerAndSerial
	KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedKey           []byte
}

// issuerAndSerial is RFC 5652 §10.2.4.
type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

// encryptedContentInfo is RFC 5652 §6.1; EncryptedContent is [0]
// IMPLICIT OCTET STRING.
type encryptedContentInfo struct {
	ContentType                asn1.ObjectIdentifier
	ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedContent           []byte `asn1:"tag:0"`
}

// gcmParameters is RFC 5084 §3.2 GCMParameters.
type gcmParameters struct {
	Nonce  []byte
	ICVLen int
}

// authEnvelop returns the DER ContentInfo of an AuthEnvelopedData that
// encrypts content with AES-256-GCM under a fresh key, transported to
// each certificate's RSA key (PKCS #1 v1.5, RFC 3370 §4.2.1, as the
// EnvelopedData path does). With no authenticated attributes the
// additional authenticated data is empty (RFC 5083 §2.2); the GCM tag is
// the mac.
func authEnvelop(content []byte, certs []*x509.Certificate) ([]byte, error) {
	key := make([]byte, 32)
	nonce := make([]byte, gcmNonceSize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCMWithTagSize(block, gcmTagSize)
	if err != nil {
		return nil, err
	}
	sealed := aead.Seal(nil, nonce, content, nil)
	ct, tag := sealed[:len(sealed)-gcmTagSize], sealed[len(sealed)-gcmTagSize:]
	params, err := asn1.Marshal(gcmParameters{Nonce: nonce, ICVLen: gcmTagSize})
	if err != nil {
		return nil, err
	}
	aed := authEnvelopedData{
		AuthEncryptedContentInfo: encryptedContentInfo{
			ContentType: oidData,
			ContentEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidAES256GCM,
				Parameters: asn1.RawValue{FullBytes: params}},
			EncryptedContent: ct,
		},
		MAC: tag,
	}
	for _, c := range certs {
		ri, err := keyTrans(c, key)
		if err != nil {
			return nil, err
		}
		aed.RecipientInfos = append(aed.RecipientInfos, ri)
	}
	inner, err := asn1.Marshal(aed)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{ContentType: oidAuthEnvelopedData,
		Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}})
}

// keyTrans encrypts key to cert's RSA public key.
func keyTrans(cert *x509.Certificate, key []byte) (keyTransRecipientInfo, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return keyTransRecipientInfo{}, fmt.Errorf("smime: recipient key type %T cannot transport a key", cert.PublicKey)
	}
	if pub.N.BitLen() < minRSABits {
		return keyTransRecipientInfo{}, errors.New("smime: recipient RSA key shorter than 2048 bits")
	}
	ek, err := rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	if err != nil {
		return keyTransRecipientInfo{}, fmt.Errorf("smime: key transport: %w", err)
	}
	return keyTransRecipientInfo{
		RID:                    issuerAndSerial{Issuer: asn1.RawValue{FullBytes: cert.RawIssuer}, Serial: cert.SerialNumber},
		KeyEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue},
		EncryptedKey:           ek,
	}, nil
}
