package smime

import (
	"crypto/x509"
	"testing"

	"github.com/sealgate/sealgate/encrypt/internal/testmsg"
)

func BenchmarkEncrypt100K(b *testing.B) {
	msg := testmsg.Large()
	req := EncryptRequest{Message: msg, To: []*x509.Certificate{issue(b, certSpec{email: "patient@example.net"})}}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptSigned100K(b *testing.B) {
	msg := testmsg.Large()
	req := EncryptRequest{Message: msg, To: []*x509.Certificate{issue(b, certSpec{email: "patient@example.net"})},
		Signer: &Signer{Cert: issue(b, certSpec{email: "security@example-clinic.org", key: testKey(b, 3)}), Key: testKey(b, 3)}}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(req); err != nil {
			b.Fatal(err)
		}
	}
}
