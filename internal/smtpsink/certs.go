package smtpsink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"
)

// TestCA is a throw-away certificate authority for tests.
type TestCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

// NewTestCA makes a fresh CA, valid from an hour ago for a day.
func NewTestCA(t testing.TB) *TestCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "sealgate test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtpsink: create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("smtpsink: parse CA: %v", err)
	}
	return &TestCA{cert: cert, key: key, der: der}
}

// Leaf issues a server certificate for names (DNS names or IP literals),
// valid from an hour ago for a day.
func (ca *TestCA) Leaf(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	now := time.Now()
	return ca.issue(t, names, now.Add(-time.Hour), now.Add(24*time.Hour))
}

// Expired issues a server certificate for names that expired yesterday.
func (ca *TestCA) Expired(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	now := time.Now()
	return ca.issue(t, names, now.Add(-72*time.Hour), now.Add(-24*time.Hour))
}

// Pool is a certificate pool holding only this CA.
func (ca *TestCA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// CertPEM is the CA certificate in PEM form, for a ca_file.
func (ca *TestCA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der})
}

func (ca *TestCA) issue(t testing.TB, names []string, from, until time.Time) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := leafTemplate(t, names, from, until)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("smtpsink: issue leaf: %v", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// SelfSigned makes a self-signed server certificate for names.
func SelfSigned(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	key := newKey(t)
	now := time.Now()
	tmpl := leafTemplate(t, names, now.Add(-time.Hour), now.Add(24*time.Hour))
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtpsink: self-sign: %v", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// ServerTLS is a server tls.Config presenting cert, TLS 1.2 minimum.
func ServerTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

func leafTemplate(t testing.TB, names []string, from, until time.Time) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		NotBefore:    from,
		NotAfter:     until,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if len(names) > 0 {
		tmpl.Subject.CommonName = names[0]
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return tmpl
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtpsink: key: %v", err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("smtpsink: serial: %v", err)
	}
	return n
}
