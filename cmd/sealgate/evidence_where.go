package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/evidence"
	"github.com/sealgate/sealgate/store"
)

// indexLimit bounds the index rows an evidence command names.
const indexLimit = 1000

// evidenceElsewhere looks a message or recipient up in the shared store's
// evidence index (a store the nodes share: PostgreSQL) and returns the
// rows this node's audit log did not give: recipients whose acceptance is
// in another node's audit file. It reads the store read-only; nil without
// a shared store or without a message or recipient to look for.
func evidenceElsewhere(ctx context.Context, cfg *config.Config, st *store.Store, q evidence.Query, recs []evidence.Record) ([]store.IndexEntry, error) {
	if !cfg.SharedStore() || (q.QueueID == "" && q.Recipient == "") {
		return nil, nil
	}
	var db *store.DB
	if st != nil {
		db = st.DB()
	} else {
		opts := storeOptions(cfg)
		opts.ReadOnly = true
		d, err := store.OpenDB(ctx, opts)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		db = d
	}
	rows, err := db.Locate(ctx, q.QueueID, q.Recipient, indexLimit)
	if err != nil {
		return nil, err
	}
	local := append(slices.Clone(q.Files), cfg.Log.AuditFile)
	var out []store.IndexEntry
	for _, r := range rows {
		held := slices.ContainsFunc(recs, func(rec evidence.Record) bool {
			return rec.QueueID == r.QueueID && store.SameAddress(rec.Recipient, r.Rcpt)
		})
		if held || slices.Contains(local, r.AuditFile) || (!q.Since.IsZero() && r.Accepted.Before(q.Since)) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// noteElsewhere says on standard error which node holds what this node
// does not.
func noteElsewhere(rows []store.IndexEntry, io stdio) {
	for _, r := range rows {
		fmt.Fprintf(io.err, "sealgate: evidence: message %s to %s is in the audit log of node %s (%s, record %d, accepted %s)%s: "+
			"export the verified record on that node; the evidence index is a finding aid, not evidence\n",
			r.QueueID, r.Rcpt, orUnknown(r.Node), orUnknown(r.AuditFile), r.AcceptedSeq, stamp(r.Accepted), outcomeNote(r))
	}
}

// outcomeNote is the index's latest outcome of a row, and where it is
// when another node recorded it (after a hand-over).
func outcomeNote(r store.IndexEntry) string {
	if r.Result == "" {
		return ", no outcome indexed yet"
	}
	s := fmt.Sprintf(", %s by %s at %s", r.Result, orUnknown(r.Method), stamp(r.ResultAt))
	if r.ResultFile != r.AuditFile || r.ResultNode != r.Node {
		s += fmt.Sprintf(" (node %s, %s, record %d)", orUnknown(r.ResultNode), orUnknown(r.ResultFile), r.ResultSeq)
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}
