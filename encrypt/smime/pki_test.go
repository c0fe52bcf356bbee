package smime

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	Init()
	os.Exit(m.Run())
}

// RSA keys are slow to make: a few, once per test binary.
var (
	keysOnce sync.Once
	keys     [4]*rsa.PrivateKey // CA, recipient, archive, organisation
)

func testKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		var wg sync.WaitGroup
		for j := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keys[j], _ = rsa.GenerateKey(rand.Reader, 2048)
			}()
		}
		wg.Wait()
	})
	if keys[i] == nil {
		t.Fatal("RSA key generation failed")
	}
	return keys[i]
}

// certSpec describes a test certificate; zero values give a good S/MIME
// recipient certificate.
type certSpec struct {
	email     string
	key       *rsa.PrivateKey
	notBefore time.Time
	notAfter  time.Time
	keyUsage  x509.KeyUsage
	eku       []x509.ExtKeyUsage
	isCA      bool
	extra     []pkix.Extension
}

var serial int64

// issue makes a certificate signed by the test CA (or self-signed for the CA).
func issue(t testing.TB, s certSpec) *x509.Certificate {
	t.Helper()
	if s.key == nil {
		s.key = testKey(t, 1)
	}
	if s.notBefore.IsZero() {
		s.notBefore = t0.Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = t0.Add(365 * 24 * time.Hour)
	}
	if s.keyUsage == 0 {
		s.keyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	}
	if s.eku == nil {
		s.eku = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Test " + s.email},
		NotBefore: s.notBefore, NotAfter: s.notAfter, KeyUsage: s.keyUsage, ExtKeyUsage: s.eku,
		BasicConstraintsValid: true, IsCA: s.isCA, ExtraExtensions: s.extra,
	}
	if s.email != "" {
		tmpl.EmailAddresses = []string{s.email}
	}
	caCert, caKey := tmpl, s.key
	if !s.isCA {
		caCert, caKey = testCA(t), testKey(t, 0)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &s.key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	caOnce sync.Once
	caCert *x509.Certificate
)

func testCA(t testing.TB) *x509.Certificate {
	caOnce.Do(func() {
		caCert = issue(t, certSpec{key: testKey(t, 0), isCA: true,
			keyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, eku: []x509.ExtKeyUsage{},
			notBefore: t0.Add(-24 * time.Hour), notAfter: t0.Add(10 * 365 * 24 * time.Hour)})
	})
	return caCert
}

func certPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

func keyPEM(t testing.TB, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// writeTemp writes data to a new file in dir and returns its path.
func writeTemp(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// openssl runs openssl with args and returns stdout.
func openssl(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		t.Logf("openssl %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes(), err
}
