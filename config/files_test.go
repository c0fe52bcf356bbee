package config

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePEM writes one PEM block to dir/name.
func writePEM(t *testing.T, dir, name, typ string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeCert writes a self-signed certificate valid until notAfter and its
// key as dir/<name>.crt and dir/<name>.key.
func writeCert(t *testing.T, dir, name string, notAfter time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.example.org"},
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter, DNSNames: []string{"mx.example.org"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, dir, name+".crt", "CERTIFICATE", der)
	writePEM(t, dir, name+".key", "PRIVATE KEY", kder)
}

// fileFixture makes good certificate, key, DKIM key, CA and keyring files
// in a fresh folder and returns it.
func fileFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	year := time.Now().Add(365 * 24 * time.Hour)
	writeCert(t, dir, "tls", year)
	writeCert(t, dir, "other", year)
	writeCert(t, dir, "old", time.Now().Add(-time.Hour))
	_, dk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(dk)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, dir, "dkim.pem", "PRIVATE KEY", der)
	if err := os.Mkdir(filepath.Join(dir, "pgp"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage"), []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fileConfig is a config whose file keys come from the test case; paths
// are relative to the config file.
const fileConfig = `hostname: mx.example.org
data_dir: data
listeners: [{name: s, address: "127.0.0.1:0", tls: starttls, auth: required}]
clients: [{name: c, username: c, password_hash: "$2a$04$7xRZL2.ZqZfaNbQ4ugOBueyk6Ohqv7l54Uw.g1LDaAeVyZHzHBnYi", allowed_senders: "*"}]
portal: {base_url: "https://secure.example.org"}
tls: {cert: %s, key: %s}
dkim: [{domain: example.org, selector: s1, key: %s}]
encryption: {pgp: {keyring: %s}}
delivery: {tls: {ca_file: %s}}
`

func TestFileChecks(t *testing.T) {
	t.Parallel()
	good := []string{"tls.crt", "tls.key", "dkim.pem", "pgp", "tls.crt"}
	tests := []struct {
		name  string
		files []string // cert, key, dkim key, keyring, ca_file
		want  string   // "" for no error
	}{
		{"all good", good, ""},
		{"missing cert", []string{"nope.crt", "tls.key", "dkim.pem", "pgp", "tls.crt"}, "sealgate.yaml:6: tls.cert: cannot read: open "},
		{"key of another cert", []string{"tls.crt", "other.key", "dkim.pem", "pgp", "tls.crt"}, "sealgate.yaml:6: tls.key: cannot use certificate and key together: tls: private key does not match public key"},
		{"expired cert", []string{"old.crt", "old.key", "dkim.pem", "pgp", "tls.crt"}, "sealgate.yaml:6: tls.cert: certificate expired on "},
		{"garbage dkim key", []string{"tls.crt", "tls.key", "garbage", "pgp", "tls.crt"}, "sealgate.yaml:7: dkim[0].key: " + "%DIR%/garbage is not a PEM file"},
		{"dkim key is a cert", []string{"tls.crt", "tls.key", "tls.crt", "pgp", "tls.crt"}, "sealgate.yaml:7: dkim[0].key: %DIR%/tls.crt holds no RSA or Ed25519 private key"},
		{"keyring is a file", []string{"tls.crt", "tls.key", "dkim.pem", "dkim.pem", "tls.crt"}, "sealgate.yaml:8: encryption.pgp.keyring: %DIR%/dkim.pem is not a folder"},
		{"ca file without certs", []string{"tls.crt", "tls.key", "dkim.pem", "pgp", "tls.key"}, "sealgate.yaml:9: delivery.tls.ca_file: %DIR%/tls.key holds no PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := fileFixture(t)
			f := tc.files
			path := filepath.Join(dir, "sealgate.yaml")
			text := fmt.Sprintf(fileConfig, f[0], f[1], f[2], f[3], f[4])
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			want := strings.ReplaceAll(tc.want, "%DIR%", dir)
			switch {
			case want == "" && err != nil:
				t.Fatalf("unexpected error:\n%v", err)
			case want == "":
				if c.DataDir != filepath.Join(dir, "data") || c.TLS.Key != filepath.Join(dir, "tls.key") {
					t.Errorf("relative paths not resolved against %s: %q, %q", dir, c.DataDir, c.TLS.Key)
				}
			case err == nil:
				t.Fatalf("no error, want %q", want)
			case !strings.Contains(err.Error(), path+":") || !strings.Contains(err.Error(), strings.TrimPrefix(want, "sealgate.yaml")):
				t.Errorf("error:\n%v\nwant it to contain %q", err, want)
			}
		})
	}
}

func TestGenerateAllowsMissingFiles(t *testing.T) {
	t.Parallel()
	c := Default(t.TempDir())
	if err := c.Validate(Options{}); err != nil {
		t.Fatalf("missing files to generate must be fine:\n%v", err)
	}
	// Only one of the two present: a half-made pair is an error.
	if err := os.MkdirAll(filepath.Dir(c.TLS.Cert), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.TLS.Cert, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := c.Validate(Options{})
	if err == nil || !strings.Contains(err.Error(), "<defaults>: tls.key: cannot read") {
		t.Errorf("err = %v, want tls.key cannot read", err)
	}
}
