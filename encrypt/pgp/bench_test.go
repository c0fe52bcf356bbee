package pgp

import (
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/sealgate/sealgate/encrypt/internal/testmsg"
)

func BenchmarkEncrypt100K(b *testing.B) {
	msg := testmsg.Large()
	req := EncryptRequest{Message: msg, To: []*openpgp.Entity{newEntity(b, "patient@example.net", t0, 0)}}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(req); err != nil {
			b.Fatal(err)
		}
	}
}
