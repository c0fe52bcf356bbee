package dkim

import (
	"bytes"
	"testing"
)

func message100K(from string) []byte {
	var b bytes.Buffer
	b.WriteString("From: " + from + "\r\nTo: patient@example.net\r\nSubject: Results\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n")
	line := "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
	for b.Len() < 100*1024-len(line) {
		b.WriteString(line)
	}
	return b.Bytes()
}

func benchSign(b *testing.B, from string) {
	f := getFixture(b)
	msg := message100K(from)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.signer.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign100KRSA(b *testing.B)     { benchSign(b, "a@example-clinic.org") }
func BenchmarkSign100KEd25519(b *testing.B) { benchSign(b, "a@ed.example") }
