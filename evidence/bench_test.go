package evidence

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/mail"
)

// BenchmarkRead measures an export's reading: a log of 10,000 messages to
// three recipients each (40,000 audit records and their checkpoints),
// verified and joined into 30,000 records per operation.
func BenchmarkRead(b *testing.B) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	p := filepath.Join(b.TempDir(), "audit.log")
	l, err := audit.Open(p, audit.Options{Key: key, CheckpointInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	const messages = 10000
	for i := range messages {
		env := &mail.Envelope{ID: fmt.Sprintf("Q%06d", i), From: "lab@clinic.example.org", Client: "ehr", ClientAddr: "192.0.2.1",
			Rcpts:  []mail.Rcpt{{Addr: "a@example.net"}, {Addr: "b@example.net"}, {Addr: "c@example.org"}},
			Policy: mail.PolicySummary{PHI: true, Action: "encrypt", Reasons: []string{"diagnosis×2", "mrn×1"}}}
		l.Accepted(env)
		for _, r := range env.Rcpts {
			l.Delivery(env, mail.Outcome{Rcpt: r.Addr, Code: 250, TLSVersion: "TLS1.3", TLSCipher: "TLS_AES_128_GCM_SHA256",
				Verified: true, Verification: "pinned", RemoteMTA: "mx.example.net", Method: "tls", MethodReason: "authenticated TLS"}, 1)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		recs, rep, err := Read(context.Background(), Query{Files: []string{p}, Key: pub})
		if err != nil || rep.Broken != nil || len(recs) != 3*messages || !recs[len(recs)-1].Verified {
			b.Fatalf("%d records, %v %v", len(recs), rep.Broken, err)
		}
	}
	b.ReportMetric(float64(3*messages)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
