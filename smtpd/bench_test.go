package smtpd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/policy"
)

// benchPolicy is the policy engine as cmd/sealgate wires it: the header
// smtpd read is handed on.
type benchPolicy struct{ e *policy.Engine }

func (p benchPolicy) Check(ctx context.Context, msg []byte, in PolicyInput) (Verdict, error) {
	v, err := p.e.Check(ctx, msg, policy.Input{Sender: in.Sender, Client: in.Client, Recipients: in.Recipients,
		Header: in.Header})
	return Verdict{PolicySummary: v.Summary(), SubjectTag: v.SubjectTag}, err
}

// benchBody is a 5 KB message of ordinary office mail, as the relay
// benchmark (bench/relay-compare.sh) sends.
func benchBody() string {
	line := "Please find the minutes of Tuesday's facilities meeting below; the parking changes start next month.\r\n"
	return "From: lab@clinic.example.org\r\nTo: x@example.net\r\nSubject: minutes\r\nMessage-ID: <b1@clinic.example.org>\r\n" +
		"Date: Mon, 7 Dec 2026 01:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.Repeat(line, 5120/len(line))
}

func benchHarness(b *testing.B) *harness {
	e, err := policy.New(policy.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return newHarness(b, func(c *Config) { c.Policy = benchPolicy{e} })
}

// reportCPU reports the process's CPU time per operation since cpu0: on a
// shared machine the figure to compare, client and server side together.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((testenv.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
}

// drop empties the recording queue so a long run does not hold every body.
func (q *recQueue) drop() {
	q.mu.Lock()
	q.envs, q.bodies = q.envs[:0], q.bodies[:0]
	q.mu.Unlock()
}

// BenchmarkRelayDATA is the relay's hot path over real SMTP on loopback:
// MAIL, RCPT, DATA of a 5 KB message on one connection, the header check,
// the PHI policy and the hand-off to the queue (in memory here).
func BenchmarkRelayDATA(b *testing.B) {
	h := benchHarness(b)
	c, err := smtp.Dial(h.relay)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	body := benchBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, testenv.CPUTime())
	for range b.N {
		if err := send(c, "lab@clinic.example.org", "x@example.net", body); err != nil {
			b.Fatal(err)
		}
		h.q.drop()
	}
}

// BenchmarkSubmit is the same road without SMTP: the API's way in.
func BenchmarkSubmit(b *testing.B) {
	h := benchHarness(b)
	body := []byte(benchBody())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, testenv.CPUTime())
	for range b.N {
		if _, err := h.srv.Submit(context.Background(), Submission{Client: "ehr", From: "lab@clinic.example.org",
			To: []string{"x@example.net"}, Body: body}); err != nil {
			b.Fatal(err)
		}
		h.q.drop()
	}
}
