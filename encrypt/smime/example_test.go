package smime_test

import (
	"crypto/x509"
	"log/slog"
	"time"

	"github.com/sealgate/sealgate/encrypt/smime"
)

// Example shows the start-up call and one encryption.
func Example() {
	smime.Init() // once, before any concurrent use: AES-256-CBC, never DES
	certs, err := smime.LoadCertStore("/etc/sealgate/smime", time.Now(), slog.Default())
	if err != nil {
		return // the folder is missing: a configuration error
	}
	cert, ok := certs.Lookup("patient@example.net", time.Now())
	if !ok {
		return // no certificate: the next method is tried
	}
	msg := []byte("From: doctor@example-clinic.org\r\nTo: patient@example.net\r\nSubject: Results\r\n\r\nBenign.\r\n")
	wire, err := smime.Encrypt(smime.EncryptRequest{Message: msg, To: []*x509.Certificate{cert}, Subject: "Secure message"})
	_, _ = wire, err
}
