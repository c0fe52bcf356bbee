package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// testEvidenceIndex: migration 7 makes the evidence index; acceptance and
// outcomes (in either order, the outcome on another node after a hand-over)
// merge into one row per recipient, found by message or by recipient
// (case-insensitive), and a later outcome without a method keeps the method.
func testEvidenceIndex(t *testing.T, o Options) {
	ctx := context.Background()
	db := openTestDB(t, o)
	at := time.Date(2026, 12, 7, 0, 10, 0, 0, time.UTC)
	acc := []IndexEntry{
		{QueueID: "Q1", Rcpt: "Pat@Example.net", Node: "gw-a", AuditFile: "/a/audit.log", Accepted: at, AcceptedSeq: 7, Client: "ehr"},
		{QueueID: "Q1", Rcpt: "sam@example.net", Node: "gw-a", AuditFile: "/a/audit.log", Accepted: at, AcceptedSeq: 7, Client: "ehr"},
	}
	if err := db.IndexAccepted(ctx, acc); err != nil {
		t.Fatal(err)
	}
	out := []IndexEntry{{QueueID: "Q1", Rcpt: "pat@example.net", Method: "portal", Result: "deferred",
		ResultAt: at.Add(time.Minute), ResultNode: "gw-a", ResultFile: "/a/audit.log", ResultSeq: 9}}
	if err := db.IndexOutcome(ctx, out); err != nil {
		t.Fatal(err)
	}
	out[0].Method, out[0].Result, out[0].ResultNode, out[0].ResultFile, out[0].ResultSeq = "", "delivered", "gw-b", "/b/audit.log", 3
	out[0].ResultAt = at.Add(2 * time.Minute)
	if err := db.IndexOutcome(ctx, out); err != nil {
		t.Fatal(err)
	}
	// An outcome of a message whose acceptance was not indexed yet.
	if err := db.IndexOutcome(ctx, []IndexEntry{{QueueID: "Q2", Rcpt: "pat@example.net", Result: "bounced", ResultAt: at}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Locate(ctx, "Q1", "", 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("Locate Q1: %v, %+v", err, got)
	}
	p := got[0]
	if p.Rcpt != "pat@example.net" || p.Node != "gw-a" || p.AuditFile != "/a/audit.log" || p.AcceptedSeq != 7 ||
		!p.Accepted.Equal(at) || p.Client != "ehr" || p.Method != "portal" || p.Result != "delivered" ||
		!p.ResultAt.Equal(at.Add(2*time.Minute)) || p.ResultNode != "gw-b" || p.ResultFile != "/b/audit.log" || p.ResultSeq != 3 {
		t.Errorf("pat's row: %+v", p)
	}
	if s := got[1]; s.Rcpt != "sam@example.net" || s.Result != "" || !s.ResultAt.IsZero() {
		t.Errorf("sam's row (accepted only): %+v", s)
	}
	byRcpt, err := db.Locate(ctx, "", "PAT@example.net", 10)
	if err != nil || len(byRcpt) != 2 || byRcpt[0].QueueID != "Q2" || byRcpt[1].QueueID != "Q1" {
		t.Fatalf("Locate by recipient: %v, %+v", err, byRcpt)
	}
	if one, err := db.Locate(ctx, "", "pat@example.net", 1); err != nil || len(one) != 1 {
		t.Fatalf("Locate limit 1: %v, %d rows", err, len(one))
	}
	if none, err := db.Locate(ctx, "Q9", "", 10); err != nil || len(none) != 0 {
		t.Fatalf("Locate of an unknown message: %v, %+v", err, none)
	}
}

// testEvidenceIndexPrune: PruneIndex deletes the rows accepted before the
// cutoff whose last outcome is before it too (an outcome-only row by its
// outcome), in batches past pruneBatch, and keeps a row accepted long ago
// whose latest outcome is recent, and every recent row.
func testEvidenceIndexPrune(t *testing.T, o Options) {
	ctx := context.Background()
	db := openTestDB(t, o)
	cutoff := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old, recent := cutoff.Add(-time.Hour), cutoff.Add(time.Hour)
	var acc []IndexEntry
	for i := range pruneBatch + 3 {
		acc = append(acc, IndexEntry{QueueID: fmt.Sprintf("OLD%d", i), Rcpt: "pat@example.net", Node: "gw-a", Accepted: old})
	}
	acc = append(acc, IndexEntry{QueueID: "RETRIED", Rcpt: "pat@example.net", Node: "gw-a", Accepted: old},
		IndexEntry{QueueID: "NEW", Rcpt: "pat@example.net", Node: "gw-a", Accepted: recent},
		IndexEntry{QueueID: "DONE", Rcpt: "pat@example.net", Node: "gw-a", Accepted: old})
	if err := db.IndexAccepted(ctx, acc); err != nil {
		t.Fatal(err)
	}
	outs := []IndexEntry{{QueueID: "RETRIED", Rcpt: "pat@example.net", Result: "delivered", ResultAt: recent},
		{QueueID: "DONE", Rcpt: "pat@example.net", Result: "delivered", ResultAt: old},
		{QueueID: "ONLYOUT", Rcpt: "pat@example.net", Result: "bounced", ResultAt: old},
		{QueueID: "ONLYOUTNEW", Rcpt: "pat@example.net", Result: "bounced", ResultAt: recent}}
	if err := db.IndexOutcome(ctx, outs); err != nil {
		t.Fatal(err)
	}
	n, err := db.PruneIndex(ctx, cutoff)
	if want := int64(pruneBatch + 3 + 2); err != nil || n != want {
		t.Fatalf("PruneIndex: %d, %v; want %d", n, err, want)
	}
	left, err := db.Locate(ctx, "", "pat@example.net", pruneBatch*2)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range left {
		ids = append(ids, e.QueueID)
	}
	if got := strings.Join(ids, " "); got != "ONLYOUTNEW RETRIED NEW" {
		t.Errorf("left after prune: %q, want ONLYOUTNEW RETRIED NEW", got)
	}
	if n, err := db.PruneIndex(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("second PruneIndex: %d, %v; want 0", n, err)
	}
}
