package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/audit"
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
	var logs syncBuf
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
