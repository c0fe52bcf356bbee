package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/delivery"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/store"
	"github.com/sealgate/sealgate/tlsrpt"
)

// reportSink keeps the reports a node hands to its queue.
type reportSink struct {
	mu  sync.Mutex
	got []mail.Generated
}

func (s *reportSink) Submit(_ context.Context, g mail.Generated) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, g)
	return "q", nil
}

func (s *reportSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// Two gateways on one PostgreSQL each see one failed session to
// partner.test: before the grace after midnight neither reports; then the
// day's one report, with both sessions, leaves through exactly one node's
// queue, and later runs send nothing more.
func TestTLSReportSharedByTwoNodes(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	dns := dnstest.Start(t)
	dns.Add(t, `_smtp._tls.partner.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@partner.test"`)
	day := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	node := func(host string) (*tlsReporter, *reportSink) {
		dir := t.TempDir()
		db, err := store.OpenDB(context.Background(), store.Options{Backend: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		v, err := delivery.NewVerified(delivery.VerifiedConfig{DNSServers: []string{dns.Addr}, MTASTSDir: filepath.Join(dir, "mta-sts"),
			Reports: true, ReportDir: filepath.Join(dir, "tlsrpt"), ReportShared: db})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		v.Reports.Record(tlsrpt.Result{Time: day, PolicyType: tlsrpt.PolicyNotFound, PolicyDomain: "partner.test",
			MXHost: "mx.partner.test", ResultType: tlsrpt.ResultSTARTTLSNotSupported})
		cfg := &config.Config{Hostname: host, DataDir: dir, Store: config.Store{URL: url}}
		sink := &reportSink{}
		return &tlsReporter{cfg: cfg, v: v, q: sink, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			stamp: filepath.Join(dir, "tlsrpt", "last-sent")}, sink
	}
	a, sa := node("a.example.org")
	b, sb := node("b.example.org")
	early := time.Date(2026, 11, 27, 0, 5, 0, 0, time.UTC)
	a.maybeSend(context.Background(), early)
	b.maybeSend(context.Background(), early)
	if n := sa.count() + sb.count(); n != 0 {
		t.Fatalf("%d reports before the grace after midnight", n)
	}
	var wg sync.WaitGroup
	for _, r := range []*tlsReporter{a, b} {
		wg.Go(func() { r.maybeSend(context.Background(), early.Add(sharedGrace)) })
	}
	wg.Wait()
	a.maybeSend(context.Background(), early.Add(2*sharedGrace))
	b.maybeSend(context.Background(), early.Add(2*sharedGrace))
	if sa.count()+sb.count() != 1 {
		t.Fatalf("reports sent: a %d, b %d; want one for the cluster", sa.count(), sb.count())
	}
	g := append(sa.got, sb.got...)[0]
	if g.Origin != mail.OriginTLSReport || len(g.To) != 1 || g.To[0] != "tlsrpt@partner.test" {
		t.Fatalf("report %+v", g)
	}
	rep := reportOf(t, g.Body)
	if len(rep.Policies) != 1 || rep.Policies[0].Summary.TotalFailure != 2 {
		t.Fatalf("report policies %+v, want one policy with both nodes' 2 failures", rep.Policies)
	}
}

// reportOf reads the JSON report out of a report mail (RFC 8460 §5.3).
func reportOf(t *testing.T, msg []byte) tlsrpt.Report {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no report part: %v", err)
		}
		if p.Header.Get("Content-Type") != "application/tlsrpt+gzip" {
			continue
		}
		zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatal(err)
		}
		var rep tlsrpt.Report
		if err := json.NewDecoder(zr).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
}
