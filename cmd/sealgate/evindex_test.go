package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/store"
)

// TestEvidenceIndexFailureCounted: when the store cannot take the index
// rows, the audit log still gets its records, every row not indexed is
// counted in sealgate_evidence_index_failures_total, and the log line
// says so without any address; a store that works gets the rows.
func TestEvidenceIndexFailureCounted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.OpenDB(ctx, store.Options{Backend: "sqlite", Dir: filepath.Join(dir, "store")})
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "audit.log")
	l, err := audit.Open(logPath, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var logs testenv.Buffer
	reg := prometheus.NewRegistry()
	env := &mail.Envelope{ID: "QOK", Client: "ehr", Rcpts: []mail.Rcpt{{Addr: "pat@example.net"}}}

	x := startEvidenceIndex(db, l, "gw-a", slog.New(slog.NewTextHandler(&logs, nil)), indexFailures(reg))
	l.Accepted(env)
	x.close(l)
	rows, err := db.Locate(ctx, "QOK", "", 10)
	if err != nil || len(rows) != 1 || rows[0].Node != "gw-a" || rows[0].AuditFile != logPath || rows[0].AcceptedSeq != 1 {
		t.Fatalf("indexed on a working store: %v, %+v", err, rows)
	}
	if n := testutil.ToFloat64(x.failures); n != 0 {
		t.Fatalf("failures on a working store: %v", n)
	}

	db.Close() // the store goes away
	x = startEvidenceIndex(db, l, "gw-a", slog.New(slog.NewTextHandler(&logs, nil)), indexFailures(reg))
	l.Accepted(&mail.Envelope{ID: "QFAIL", Client: "ehr", Rcpts: []mail.Rcpt{{Addr: "pat@example.net"}, {Addr: "sam@example.net"}}})
	x.close(l)
	if n := testutil.ToFloat64(x.failures); n != 2 {
		t.Errorf("sealgate_evidence_index_failures_total = %v, want 2 (one per recipient)", n)
	}
	out := logs.String()
	if !strings.Contains(out, "evidence index: write failed") || strings.Contains(out, "@") {
		t.Errorf("the log should report the failure without addresses:\n%s", out)
	}
	if _, seq := acceptedRecord(t, dir, "sam@example.net"); seq != 2 {
		t.Errorf("the audit log's record of QFAIL: seq %d, want 2", seq)
	}
}

// TestEvidenceIndexPruned: a gateway's indexer deletes, at start and
// hourly, the rows of recipients accepted and last heard of before the
// retention, keeps the newer ones, and logs how many it deleted without
// any address.
func TestEvidenceIndexPruned(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.OpenDB(ctx, store.Options{Backend: "sqlite", Dir: filepath.Join(dir, "store")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := audit.Open(filepath.Join(dir, "audit.log"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Now()
	rows := []store.IndexEntry{
		{QueueID: "QOLD", Rcpt: "pat@example.net", Node: "gw-a", Accepted: now.Add(-31 * 24 * time.Hour)},
		{QueueID: "QOLD2", Rcpt: "sam@example.net", Node: "gw-a", Accepted: now.Add(-60 * 24 * time.Hour)},
		{QueueID: "QNEW", Rcpt: "pat@example.net", Node: "gw-a", Accepted: now.Add(-29 * 24 * time.Hour)},
	}
	if err := db.IndexAccepted(ctx, rows); err != nil {
		t.Fatal(err)
	}
	var logs testenv.Buffer
	x := startEvidenceIndex(db, l, "gw-a", slog.New(slog.NewTextHandler(&logs, nil)), indexFailures(prometheus.NewRegistry()))
	x.startPruning(30 * 24 * time.Hour)
	defer x.close(l)
	testenv.WaitFor(t, 10*time.Second, "the old rows deleted", func() bool {
		old, err := db.Locate(ctx, "QOLD", "", 10)
		old2, err2 := db.Locate(ctx, "QOLD2", "", 10)
		return err == nil && err2 == nil && len(old)+len(old2) == 0
	})
	if kept, err := db.Locate(ctx, "QNEW", "", 10); err != nil || len(kept) != 1 {
		t.Fatalf("the row within the retention: %v, %+v", err, kept)
	}
	testenv.WaitFor(t, 10*time.Second, "the prune logged", func() bool { return strings.Contains(logs.String(), "deleted=2") })
	if strings.Contains(logs.String(), "@") {
		t.Errorf("the log names an address:\n%s", logs.String())
	}
}
