package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

// BenchmarkAcceptedToFile is the cost of one accepted record appended to
// an audit log file: the chain's hash, the flock and the stat that keep
// two writers on one chain, and a checkpoint signature every 1000.
func BenchmarkAcceptedToFile(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "audit.log"), Options{Key: benchKey(b), CheckpointInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	env := &mail.Envelope{ID: "01a24d2edbc0ab94e1cc46b1", From: "lab@clinic.example.org", Client: "ehr",
		ClientAddr: "10.0.0.7", Rcpts: []mail.Rcpt{{Addr: "pat@example.net"}, {Addr: "dr@example.net"}},
		Policy: mail.PolicySummary{PHI: true, Action: "encrypt", Reasons: []string{"us_ssn×1", "mrn×2"}}}
	b.ReportAllocs()
	for b.Loop() {
		l.Accepted(env)
	}
}

func benchKey(b *testing.B) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return k
}
