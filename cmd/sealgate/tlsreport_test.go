package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/delivery"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/tlsrpt"
)

func TestTLSReporterSendsEachDayOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v, err := delivery.NewVerified(delivery.VerifiedConfig{DNSServers: []string{"127.0.0.1:1"},
		MTASTSDir: filepath.Join(dir, "mta-sts"), Reports: true, ReportDir: filepath.Join(dir, "tlsrpt")})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	cfg := &config.Config{Hostname: "gw.example.org", DataDir: dir}
	r := &tlsReporter{cfg: cfg, v: v, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		stamp: filepath.Join(dir, "tlsrpt", "last-sent")}
	now := time.Date(2026, 11, 27, 0, 30, 0, 0, time.UTC)
	r.maybeSend(context.Background(), now)
	got, err := os.ReadFile(r.stamp)
	if err != nil || string(got) != "2026-11-26" {
		t.Fatalf("stamp %q %v", got, err)
	}
	os.WriteFile(r.stamp, []byte("2026-11-26"), 0o600)
	st, _ := os.Stat(r.stamp)
	r.maybeSend(context.Background(), now.Add(time.Hour))
	st2, _ := os.Stat(r.stamp)
	if !st2.ModTime().Equal(st.ModTime()) {
		t.Error("the same day was handled twice")
	}
}

// flakyCourier fails every delivery temporarily until up is set, then
// accepts; it keeps what it accepted.
type flakyCourier struct {
	mu       sync.Mutex
	up       bool
	attempts int
	got      []*mail.Delivery
}

func (c *flakyCourier) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts++
	out := make([]mail.Outcome, len(d.Rcpts))
	for i, r := range d.Rcpts {
		out[i] = mail.Outcome{Rcpt: r.Addr}
		if !c.up {
			out[i].Err, out[i].Code = errors.New("451 4.3.0 try again later"), 451
		}
	}
	if c.up {
		c.got = append(c.got, d)
	}
	return out
}

func (c *flakyCourier) state() (attempts int, got []*mail.Delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts, append([]*mail.Delivery(nil), c.got...)
}

// A TLS report by mail goes through the spool: the receiving server's
// temporary failure delays it, a restart of the queue does not lose it,
// and it is delivered on a later attempt and audited with its origin.
func TestTLSReportSurvivesTemporaryFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dns := dnstest.Start(t)
	dns.Add(t, `_smtp._tls.partner.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@partner.test"`)
	v, err := delivery.NewVerified(delivery.VerifiedConfig{DNSServers: []string{dns.Addr},
		MTASTSDir: filepath.Join(dir, "mta-sts"), Reports: true, ReportDir: filepath.Join(dir, "tlsrpt")})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	day := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	v.Reports.Record(tlsrpt.Result{Time: day, PolicyType: tlsrpt.PolicyNotFound, PolicyDomain: "partner.test",
		MXHost: "mx.partner.test", ResultType: tlsrpt.ResultSTARTTLSNotSupported})

	var auditLog testenv.Buffer
	al := audit.New(&auditLog)
	c := &flakyCourier{}
	openQ := func() *queue.Queue {
		q, err := queue.New(queue.Config{Dir: filepath.Join(dir, "spool"), Key: bytes.Repeat([]byte{9}, 32), Courier: c,
			Hostname: "gw.example.org", Schedule: []time.Duration{20 * time.Millisecond}, Audit: al})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := openQ()
	cfg := &config.Config{Hostname: "gw.example.org", DataDir: dir}
	cfg.Delivery.TLS.Report.Organization = "Example Clinic"
	cfg.Delivery.TLS.Report.Contact = "postmaster@gw.example.org"
	r := &tlsReporter{cfg: cfg, v: v, q: q, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		stamp: filepath.Join(dir, "tlsrpt", "last-sent")}
	r.maybeSend(context.Background(), day.Add(10*time.Hour))

	testenv.WaitFor(t, 30*time.Second, "a failed attempt", func() bool { n, _ := c.state(); return n >= 1 })
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.up = true
	c.mu.Unlock()
	q = openQ()
	defer q.Close(context.Background())
	testenv.WaitFor(t, 30*time.Second, "the report delivered after the restart", func() bool { _, got := c.state(); return len(got) == 1 })

	_, got := c.state()
	d := got[0]
	if d.From != "noreply-tlsrpt@gw.example.org" || len(d.Rcpts) != 1 || d.Rcpts[0].Addr != "tlsrpt@partner.test" ||
		!bytes.Contains(d.Body, []byte("report-type=\"tlsrpt\"")) && !bytes.Contains(d.Body, []byte("report-type=tlsrpt")) {
		t.Fatalf("delivered %q to %+v:\n%.400s", d.From, d.Rcpts, d.Body)
	}
	log := auditLog.String()
	for _, want := range []string{`"event":"accepted"`, `"result":"deferred"`, `"result":"delivered"`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s:\n%s", want, log)
		}
	}
	if n := strings.Count(log, `"origin":"tlsrpt"`); n < 3 {
		t.Errorf("audit log names the origin %d times, want every record (3 or more):\n%s", n, log)
	}
}
