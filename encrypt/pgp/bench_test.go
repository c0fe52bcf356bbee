package pgp

import (
	"bytes"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// message100K is a 100 KB message: a text part and a base64 attachment.
func message100K() []byte {
	var b bytes.Buffer
	b.WriteString("From: house@example-clinic.org\r\nTo: patient@example.net\r\nSubject: Results\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n" +
		"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
	for b.Len() < 100*1024-len(line)-10 {
		b.WriteString(line)
	}
	b.WriteString("--b1--\r\n")
	return b.Bytes()
}

func BenchmarkEncrypt100K(b *testing.B) {
	msg := message100K()
	req := EncryptRequest{Message: msg, To: []*openpgp.Entity{newEntity(b, "patient@example.net", t0, 0)}}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(req); err != nil {
			b.Fatal(err)
		}
	}
}
