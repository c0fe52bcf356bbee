package smime

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/encrypt/keydir/keydirtest"
)

func TestCertStoreSkipsBadCertificates(t *testing.T) {
	dir := t.TempDir()
	writeTemp(t, dir, "good.pem", certPEM(issue(t, certSpec{email: "Alice@Example.ORG"})))
	writeTemp(t, dir, "expired.pem", certPEM(issue(t, certSpec{email: "old@example.org", notAfter: t0.Add(-time.Minute)})))
	writeTemp(t, dir, "future.pem", certPEM(issue(t, certSpec{email: "soon@example.org", notBefore: t0.Add(time.Hour)})))
	writeTemp(t, dir, "signonly.pem", certPEM(issue(t, certSpec{email: "sig@example.org", keyUsage: x509.KeyUsageDigitalSignature})))
	writeTemp(t, dir, "tls.pem", certPEM(issue(t, certSpec{email: "tls@example.org", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})))
	writeTemp(t, dir, "ec.pem", certPEM(ecCert(t, "ec@example.org")))
	writeTemp(t, dir, "ca.pem", certPEM(testCA(t)))
	writeTemp(t, dir, "garbage.pem", []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"))
	writeTemp(t, dir, "notes.txt", []byte("hello"))
	writeTemp(t, dir, "key.pem", keyPEM(t, testKey(t, 1)))
	writeTemp(t, dir, ".hidden.pem", certPEM(issue(t, certSpec{email: "hidden@example.org"})))

	var logs bytes.Buffer
	s, err := LoadCertStore(dir, t0, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Errorf("Len = %d, want 1", s.Len())
	}
	for file, reason := range map[string]string{"expired.pem": "expired", "future.pem": "not yet valid",
		"signonly.pem": "keyEncipherment", "tls.pem": "emailProtection", "ec.pem": "only RSA",
		"ca.pem": "keyEncipherment", "garbage.pem": "skipping file", "notes.txt": "no PEM certificate",
		"key.pem": "no PEM certificate"} {
		if !logHas(logs.String(), "file="+file, reason) {
			t.Errorf("no log line for %s with %q", file, reason)
		}
	}
	if strings.Contains(logs.String(), "@example.org") {
		t.Errorf("log names an address:\n%s", logs.String())
	}
	for _, a := range []string{"old@example.org", "soon@example.org", "sig@example.org", "tls@example.org", "ec@example.org", "hidden@example.org"} {
		if _, ok := s.Lookup(a, t0); ok {
			t.Errorf("Lookup(%s) returned an unusable certificate", a)
		}
	}
	if t.Failed() {
		t.Log(logs.String())
	}
}

func logHas(log string, subs ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			return true
		}
	}
	return false
}

func ecCert(t *testing.T, email string) *x509.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "ec"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour), EmailAddresses: []string{email}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestUsable(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec certSpec
		want string // "" = usable
	}{
		{"good", certSpec{email: "a@example.org"}, ""},
		{"no EKU", certSpec{email: "a@example.org", eku: []x509.ExtKeyUsage{}}, ""},
		{"any EKU", certSpec{email: "a@example.org", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}, ""},
		{"expired", certSpec{email: "a@example.org", notAfter: t0.Add(-time.Second)}, "expired"},
		{"not yet valid", certSpec{email: "a@example.org", notBefore: t0.Add(time.Second)}, "not yet valid"},
		{"no keyEncipherment", certSpec{email: "a@example.org", keyUsage: x509.KeyUsageDigitalSignature}, "keyEncipherment"},
		{"client auth only", certSpec{email: "a@example.org", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, "emailProtection"},
		{"no address", certSpec{}, "no e-mail address"},
		{"short RSA", certSpec{email: "a@example.org", key: small}, "shorter than 2048"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Usable(issue(t, tc.spec), t0)
			if tc.want == "" && err != nil {
				t.Errorf("Usable = %v, want nil", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Usable = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCertStoreLookup(t *testing.T) {
	dir := t.TempDir()
	short := issue(t, certSpec{email: "Alice@Example.ORG", notAfter: t0.Add(24 * time.Hour)})
	long := issue(t, certSpec{email: "Alice@example.org", notAfter: t0.Add(48 * time.Hour)})
	writeTemp(t, dir, "alice.pem", certPEM(short, long))
	s, err := LoadCertStore(dir, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := s.Lookup("Alice@EXAMPLE.org", t0)
	if !ok || c.SerialNumber.Cmp(long.SerialNumber) != 0 {
		t.Error("Lookup did not return the longest-valid certificate")
	}
	if _, ok := s.Lookup("alice@example.org", t0); ok {
		t.Error("local part matched case-insensitively")
	}
	if c, ok := s.Lookup("Alice@example.org", t0.Add(36*time.Hour)); !ok || c.SerialNumber.Cmp(long.SerialNumber) != 0 {
		t.Error("Lookup after the first expiry failed")
	}
	if _, ok := s.Lookup("Alice@example.org", t0.Add(72*time.Hour)); ok {
		t.Error("Lookup returned an expired certificate")
	}
}

func TestCertStoreReload(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadCertStore(dir, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	keydirtest.CheckReload(t, dir, t0, s,
		func() { writeTemp(t, dir, "new.pem", certPEM(issue(t, certSpec{email: "new@example.org"}))) },
		func() bool { _, ok := s.Lookup("new@example.org", t0); return ok })
	if _, err := LoadCertStore(filepath.Join(dir, "nope"), t0, nil); err == nil {
		t.Error("LoadCertStore of a missing folder succeeded")
	}
}

func TestLoadSigner(t *testing.T) {
	dir := t.TempDir()
	org := issue(t, certSpec{email: "security@example-clinic.org", key: testKey(t, 3)})
	certFile := writeTemp(t, dir, "org.pem", certPEM(org, testCA(t)))
	keyFile := writeTemp(t, dir, "org.key", keyPEM(t, testKey(t, 3)))
	s, err := LoadSigner(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Cert.Equal(org) || len(s.Chain) != 1 || !s.Chain[0].Equal(testCA(t)) {
		t.Error("signer certificate or chain not loaded")
	}
	if _, err := s.detached([]byte("x")); err != nil {
		t.Errorf("signing with the loaded chain: %v", err)
	}
	wrong := writeTemp(t, dir, "wrong.key", keyPEM(t, testKey(t, 1)))
	if _, err := LoadSigner(certFile, wrong); err == nil {
		t.Error("LoadSigner accepted a key that does not match the certificate")
	}
	if _, err := LoadSigner(certFile, certFile); err == nil {
		t.Error("LoadSigner accepted a file without a key")
	}
}

func FuzzParseCertificates(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseCertificates(data)
	})
}
