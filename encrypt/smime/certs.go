// Package smime encrypts outgoing mail with S/MIME (RFC 8551): an
// application/pkcs7-mime message, AES-256-GCM AuthEnvelopedData (RFC
// 5083/5084) when the recipient's certificate announces it, else
// AES-256-CBC EnvelopedData (never DES), the original headers protected
// inside, optionally signed by the organisation. Recipient certificates come from a folder of
// PEM files (CertStore).
package smime

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/sealgate/sealgate/encrypt/keydir"
	"github.com/sealgate/sealgate/encrypt/mimeutil"
)

// minRSABits is the smallest RSA key a certificate may carry.
const minRSABits = 2048

// CertStore is a folder of recipient certificates, indexed by the e-mail
// addresses in their subjectAltName (rfc822Name). It is safe for concurrent
// use; Reload swaps the index atomically. The folder is a trust decision of
// the operator: chains are not verified.
type CertStore struct {
	dir string
	log *slog.Logger

	// Reload, ReloadIfChanged and Len are the Folder's.
	*keydir.Folder[*x509.Certificate]
}

// LoadCertStore reads every regular, non-hidden file in dir as PEM
// certificates. Files that cannot be parsed and certificates that Usable
// rejects at now are skipped with a log line naming the file; only an
// unreadable dir is an error.
func LoadCertStore(dir string, now time.Time, log *slog.Logger) (*CertStore, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &CertStore{dir: dir, log: log}
	s.Folder = &keydir.Folder[*x509.Certificate]{
		Index: keydir.NewIndex(dir, s.loadFile, func(c *x509.Certificate, _ time.Time) []string { return certAddrs(c) }),
		Name:  "smime: certificates", Loaded: "smime certificates loaded", Unit: "certificates", Log: log}
	if err := s.Reload(now); err != nil {
		return nil, err
	}
	return s, nil
}

// Lookup returns the certificate for addr that is usable at now, preferring
// the one that stays valid longest. The domain is compared
// case-insensitively, the local part exactly.
func (s *CertStore) Lookup(addr string, now time.Time) (*x509.Certificate, bool) {
	norm, ok := mimeutil.NormalizeAddr(addr)
	if !ok {
		return nil, false
	}
	cands := s.Candidates(norm)
	var best *x509.Certificate
	for _, c := range cands {
		if Usable(c, now) != nil {
			continue
		}
		if best == nil || c.NotAfter.After(best.NotAfter) {
			best = c
		}
	}
	return best, best != nil
}

// Usable says why cert cannot encrypt mail at now (nil if it can): outside
// its validity period, not an RSA key of at least 2048 bits, a key usage
// without keyEncipherment, an extended key usage without emailProtection,
// or no e-mail address.
func Usable(cert *x509.Certificate, now time.Time) error {
	switch {
	case now.Before(cert.NotBefore):
		return errors.New("not yet valid")
	case now.After(cert.NotAfter):
		return errors.New("expired")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("unsupported key type %T (only RSA can be used)", cert.PublicKey)
	}
	if pub.N.BitLen() < minRSABits {
		return fmt.Errorf("RSA key of %d bits is shorter than %d", pub.N.BitLen(), minRSABits)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		return errors.New("key usage lacks keyEncipherment")
	}
	if !emailEKU(cert) {
		return errors.New("extended key usage lacks emailProtection")
	}
	if len(certAddrs(cert)) == 0 {
		return errors.New("no e-mail address in subjectAltName")
	}
	return nil
}

// emailEKU reports whether cert's extended key usage (if it has one) allows
// e-mail protection (RFC 8550 §4.4.4).
func emailEKU(cert *x509.Certificate) bool {
	if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range cert.ExtKeyUsage {
		if u == x509.ExtKeyUsageEmailProtection || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// certAddrs returns the normalized rfc822Name addresses of cert.
func certAddrs(cert *x509.Certificate) []string {
	var out []string
	for _, e := range cert.EmailAddresses {
		if a, ok := mimeutil.NormalizeAddr(e); ok {
			out = append(out, a)
		}
	}
	return out
}

// loadFile returns the usable certificates of one file, logging what it
// skips.
func (s *CertStore) loadFile(name string, now time.Time) []*x509.Certificate {
	log := s.log.With(slog.String("file", name))
	data, err := keydir.Read(filepath.Join(s.dir, name))
	if err != nil {
		log.Warn("smime certificates: skipping unreadable file", slog.String("error", err.Error()))
		return nil
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		log.Warn("smime certificates: skipping file", slog.String("error", err.Error()))
		return nil
	}
	var usable []*x509.Certificate
	for _, c := range certs {
		if err := Usable(c, now); err != nil {
			log.Warn("smime certificates: skipping certificate", slog.String("serial", c.SerialNumber.Text(16)), slog.String("reason", err.Error()))
			continue
		}
		usable = append(usable, c)
	}
	return usable
}

// ParseCertificates returns the CERTIFICATE blocks of PEM data. Other blocks
// are ignored; a file without any certificate, or with one that does not
// parse, is an error.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("smime: parse certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("smime: no PEM certificate found")
	}
	return certs, nil
}
