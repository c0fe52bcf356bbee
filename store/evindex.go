package store

import (
	"context"
	"fmt"
	"time"
)

// IndexEntry is one row of the evidence index: where the audit records of
// one recipient of one message are. The index is a finding aid for a
// cluster of nodes, written asynchronously; the verified evidence is the
// audit log of the node it names (sealgate evidence export there).
type IndexEntry struct {
	QueueID string
	Rcpt    string
	// Node (the node's hostname) and AuditFile hold the acceptance record,
	// sequence number AcceptedSeq.
	Node        string
	AuditFile   string
	Accepted    time.Time
	AcceptedSeq uint64
	Client      string
	// Method and Result are the last outcome recorded (Result "" when none
	// yet), at ResultAt, in ResultFile on ResultNode as record ResultSeq
	// (another node than Node when the spool was handed over).
	Method     string
	Result     string
	ResultAt   time.Time
	ResultNode string
	ResultFile string
	ResultSeq  uint64
}

// IndexAccepted records the acceptance of entries (one per recipient).
func (db *DB) IndexAccepted(ctx context.Context, entries []IndexEntry) error {
	return db.indexEach(ctx, entries, `INSERT INTO evidence_index (queue_id, rcpt, node, audit_file, accepted, accepted_seq, client)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (queue_id, rcpt) DO UPDATE SET node = excluded.node, audit_file = excluded.audit_file,
			accepted = excluded.accepted, accepted_seq = excluded.accepted_seq, client = excluded.client`,
		func(e IndexEntry) []any {
			return []any{e.QueueID, normAddr(e.Rcpt), e.Node, e.AuditFile, e.Accepted.UnixMilli(), int64(e.AcceptedSeq), e.Client}
		})
}

// IndexOutcome records the latest outcome of entries; an empty Method
// keeps the one recorded before.
func (db *DB) IndexOutcome(ctx context.Context, entries []IndexEntry) error {
	return db.indexEach(ctx, entries, `INSERT INTO evidence_index (queue_id, rcpt, method, result, result_at, result_node, result_file, result_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (queue_id, rcpt) DO UPDATE SET
			method = CASE WHEN excluded.method = '' THEN evidence_index.method ELSE excluded.method END,
			result = excluded.result, result_at = excluded.result_at, result_node = excluded.result_node,
			result_file = excluded.result_file, result_seq = excluded.result_seq`,
		func(e IndexEntry) []any {
			return []any{e.QueueID, normAddr(e.Rcpt), e.Method, e.Result, e.ResultAt.UnixMilli(), e.ResultNode, e.ResultFile, int64(e.ResultSeq)}
		})
}

// indexEach runs q for every entry in one transaction.
func (db *DB) indexEach(ctx context.Context, entries []IndexEntry, q string, args func(IndexEntry) []any) error {
	err := db.InTx(ctx, func(tx *Tx) error {
		for _, e := range entries {
			if _, err := tx.Exec(ctx, q, args(e)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: evidence index: %w", err)
	}
	return nil
}

// pruneBatch bounds the rows one statement of PruneIndex deletes, so a
// first prune of a large table does not hold one long transaction.
const pruneBatch = 5000

// PruneIndex deletes the evidence index rows of recipients accepted
// before cutoff whose last outcome (if any) is before cutoff too, and
// returns how many it deleted. It deletes in batches; an error stops it
// with the rows deleted so far counted.
func (db *DB) PruneIndex(ctx context.Context, cutoff time.Time) (int64, error) {
	ms := cutoff.UnixMilli()
	var total int64
	for {
		res, err := db.Exec(ctx, `DELETE FROM evidence_index WHERE (queue_id, rcpt) IN (
			SELECT queue_id, rcpt FROM evidence_index WHERE accepted < ? AND result_at < ? LIMIT ?)`, ms, ms, pruneBatch)
		if err != nil {
			return total, fmt.Errorf("store: evidence index: prune: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("store: evidence index: prune: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// Locate returns the index rows of a message (rcpt "": every recipient),
// of a recipient (queueID ""), or of both, oldest acceptance first; at
// most limit rows.
func (db *DB) Locate(ctx context.Context, queueID, rcpt string, limit int) ([]IndexEntry, error) {
	q := `SELECT queue_id, rcpt, node, audit_file, accepted, accepted_seq, client, method, result, result_at,
		result_node, result_file, result_seq FROM evidence_index WHERE 1 = 1`
	var args []any
	if queueID != "" {
		q += ` AND queue_id = ?`
		args = append(args, queueID)
	}
	if rcpt != "" {
		q += ` AND rcpt = ?`
		args = append(args, normAddr(rcpt))
	}
	q += ` ORDER BY accepted, queue_id, rcpt LIMIT ?`
	out, err := QueryAll(ctx, db, func(r Row) (e IndexEntry, err error) {
		var acc, at, aseq, rseq int64
		err = r.Scan(&e.QueueID, &e.Rcpt, &e.Node, &e.AuditFile, &acc, &aseq, &e.Client, &e.Method,
			&e.Result, &at, &e.ResultNode, &e.ResultFile, &rseq)
		e.AcceptedSeq, e.ResultSeq = uint64(aseq), uint64(rseq)
		e.Accepted, e.ResultAt = msTime(acc).UTC(), msTime(at).UTC()
		return e, err
	}, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: evidence index: %w", err)
	}
	return out, nil
}

// SameAddress reports whether a and b are one address as the store keys
// them (case and surrounding space aside).
func SameAddress(a, b string) bool { return normAddr(a) == normAddr(b) }
