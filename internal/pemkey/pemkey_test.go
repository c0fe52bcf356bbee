package pemkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
)

// Each of the three encodings parses to the key that was written, a
// certificate block before it is passed over, and text without a key or
// with a broken one is refused.
func TestParse(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(edk)
	sec1, _ := x509.MarshalECPrivateKey(ek)
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not parsed")})
	for name, c := range map[string]struct {
		data []byte
		want any
	}{
		"pkcs1": {pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), rk.Public()},
		"pkcs8": {append(cert, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...), edk.Public()},
		"sec1":  {pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), ek.Public()},
	} {
		k, err := Parse(c.data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if eq, ok := k.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(c.want) {
			t.Errorf("%s: parsed a different key", name)
		}
	}
	if _, err := Parse(cert); !errors.Is(err, ErrNoKey) {
		t.Errorf("certificate only: %v, want ErrNoKey", err)
	}
	if _, err := Parse(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")})); err == nil {
		t.Error("a broken key block was accepted")
	}
}
