package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/internal/pemkey"
	"github.com/sealgate/sealgate/safeio"
)

// minRSABits is the smallest RSA key accepted for signing (RFC 8301 §3.2).
const minRSABits = 2048

// LoadKey reads a PEM private key for DKIM (pemkey.Parse): RSA of 2048
// bits or more, or Ed25519; any other key is refused.
func LoadKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dkim: key: %w", err)
	}
	k, err := pemkey.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("dkim: key: %w", err)
	}
	return checkKey(k)
}

// checkKey accepts RSA keys of at least 2048 bits and Ed25519 keys.
func checkKey(k any) (crypto.Signer, error) {
	switch key := k.(type) {
	case *rsa.PrivateKey:
		if key.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("dkim: key: RSA key of %d bits is shorter than %d", key.N.BitLen(), minRSABits)
		}
		return key, nil
	case ed25519.PrivateKey:
		return key, nil
	default:
		return nil, fmt.Errorf("dkim: key: unsupported key type %T (RSA or Ed25519)", k)
	}
}

// Keygen makes a new signing key for selector._domainkey.domain, writes it
// as PKCS#8 PEM with mode 0600 to dir/domain.selector.pem (refusing to
// overwrite an existing file) and returns the path and the DNS TXT record to
// publish. algo is "rsa" (2048 bits), "rsa3072", "rsa4096" or "ed25519".
func Keygen(domain, selector, algo, dir string) (keyPath, txtRecord string, err error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if !addr.HostName(domain) || !addr.HostName(selector) {
		return "", "", errors.New("dkim: keygen: domain and selector must be DNS names")
	}
	key, err := newKey(algo)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("dkim: keygen: %w", err)
	}
	keyPath = filepath.Join(dir, domain+"."+selector+".pem")
	if _, err := os.Lstat(keyPath); err == nil {
		return "", "", fmt.Errorf("dkim: keygen: %s already exists", keyPath)
	}
	pemData := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := safeio.WriteFile(keyPath, pemData, 0o600); err != nil {
		return "", "", fmt.Errorf("dkim: keygen: %w", err)
	}
	value, err := RecordValue(key.Public())
	if err != nil {
		return "", "", err
	}
	return keyPath, selector + "._domainkey." + domain + ". IN TXT " + quoteTXT(value), nil
}

// newKey generates a key for algo.
func newKey(algo string) (crypto.Signer, error) {
	bits := map[string]int{"rsa": 2048, "rsa2048": 2048, "rsa3072": 3072, "rsa4096": 4096}
	switch {
	case bits[algo] > 0:
		k, err := rsa.GenerateKey(rand.Reader, bits[algo])
		if err != nil {
			return nil, fmt.Errorf("dkim: keygen: %w", err)
		}
		return k, nil
	case algo == "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("dkim: keygen: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("dkim: keygen: unknown algorithm %q (rsa, rsa3072, rsa4096, ed25519)", algo)
	}
}

// RecordValue returns the DKIM key record (RFC 6376 §3.6.1) for pub:
// "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or, for Ed25519 (RFC 8463),
// "v=DKIM1; k=ed25519; p=<raw key>".
func RecordValue(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return "", fmt.Errorf("dkim: record: %w", err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k), nil
	default:
		return "", fmt.Errorf("dkim: record: unsupported key type %T", pub)
	}
}

// quoteTXT splits value into quoted character-strings of at most 255 bytes
// (RFC 1035 §3.3.14), as zone files need for 2048-bit RSA keys.
func quoteTXT(value string) string {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, `"`+value[:255]+`"`)
		value = value[255:]
	}
	parts = append(parts, `"`+value+`"`)
	return strings.Join(parts, " ")
}
