package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/evidence"
	"github.com/sealgate/sealgate/portal/box"
	"github.com/sealgate/sealgate/store"
)

// cmdEvidence is `sealgate evidence export --since D [--recipient R]
// [--message ID] --format jsonl|csv` and `sealgate evidence show
// QUEUE_ID`: one record per recipient, joined from the audit log (the
// configured file and its rotated files, verified as they are read) and
// the portal store's events. It reads only: no key, log or store is
// created. Fail closed: a broken chain, a log with no signed checkpoint,
// or (without --partial) a log that does not reach back to its first
// record exports nothing and exits 1; records built on audit records
// after the last checkpoint are exported marked "verified": false, and
// standard error says how many.
func cmdEvidence(inv *invocation, io stdio) int {
	q, err := evidenceQuery(inv)
	if err != nil {
		return io.fail("evidence %s: %v", inv.cmd.path[1], err)
	}
	cfg, src, err := commandConfig(inv)
	if err != nil {
		return io.fail("%v", err)
	}
	var files []string
	if q.Key, err = auditPublicKey(inv, true, &files); err != nil {
		return io.fail("evidence: %v", err)
	}
	q.Files = files
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, err := evidencePortal(ctx, cfg)
	if err != nil {
		return io.fail("evidence: portal store: %v (config: %s)", err, src)
	}
	if st != nil {
		defer st.Close(ctx)
		q.Portal = portalEvents{st}
	}
	recs, rep, err := evidence.Read(ctx, q)
	if err != nil {
		return io.fail("evidence: %v", err)
	}
	// What another node holds is named even when this node's own log
	// does not prove itself: it is not read from that log.
	elsewhere, err := evidenceElsewhere(ctx, cfg, st, q, recs)
	if err != nil {
		return io.fail("evidence: the evidence index: %v", err)
	}
	noteElsewhere(elsewhere, io)
	if code := evidenceTrust(rep, inv.on("partial"), io); code != 0 {
		return code
	}
	if inv.cmd.path[1] == "show" && len(recs) == 0 && len(elsewhere) > 0 {
		return io.fail("evidence show: this node's audit log has no message %s; it is on the node named above", q.QueueID)
	}
	return writeEvidence(inv, q, recs, io)
}

// evidenceQuery reads the verb's own flags.
func evidenceQuery(inv *invocation) (evidence.Query, error) {
	var q evidence.Query
	if inv.cmd.path[1] == "show" {
		q.QueueID = inv.args[0]
		return q, nil
	}
	switch f := inv.flag("format"); f {
	case "jsonl", "csv":
	case "":
		return q, fmt.Errorf("--format jsonl|csv is required")
	default:
		return q, fmt.Errorf("--format %q: want jsonl or csv", f)
	}
	since, err := parseSince(inv.flag("since"), time.Now())
	if err != nil {
		return q, err
	}
	q.Since, q.Recipient, q.QueueID = since, inv.flag("recipient"), inv.flag("message")
	return q, nil
}

// parseSince reads --since: a duration back from now (90m, 24h, 7d) or an
// RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("--since is required: a duration back from now (24h, 7d) or an RFC 3339 time")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("--since %q: want a duration back from now (24h, 7d) or an RFC 3339 time", s)
	}
	return now.Add(-d), nil
}

// evidenceTrust refuses evidence from a log that does not prove itself
// (exit 1, nothing on standard output) and notes records not yet signed.
func evidenceTrust(rep audit.Report, partial bool, io stdio) int {
	if b := rep.Broken; b != nil {
		fmt.Fprintf(io.err, "%s:%d: BROKEN: %s\n", b.File, b.Line, b.Why)
		return io.fail("evidence: NOT EXPORTED: the audit log's chain is broken after %d verified records; "+
			"nothing read from it is evidence (sealgate audit verify names the break)", rep.Records)
	}
	if why := unproven(rep, partial); why != "" {
		return io.fail("evidence: NOT EXPORTED: %s", why)
	}
	if rep.Unsigned > 0 {
		fmt.Fprintf(io.err, "sealgate: evidence: %d audit records after the last checkpoint are not yet signed; "+
			"records built on them are marked \"verified\": false (the gateway signs within a minute and at shutdown)\n", rep.Unsigned)
	}
	return 0
}

func writeEvidence(inv *invocation, q evidence.Query, recs []evidence.Record, io stdio) int {
	var err error
	switch {
	case inv.cmd.path[1] == "show" && len(recs) == 0:
		return io.fail("evidence show: the audit log has no message %s", q.QueueID)
	case inv.cmd.path[1] == "show" && inv.on("json"):
		err = evidence.WriteJSONL(io.out, recs)
	case inv.cmd.path[1] == "show":
		err = evidence.WriteText(io.out, recs)
	case inv.flag("format") == "csv":
		err = evidence.WriteCSV(io.out, recs)
	default:
		err = evidence.WriteJSONL(io.out, recs)
	}
	if err != nil {
		return io.fail("evidence: %v", err)
	}
	return 0
}

// evidencePortal opens the portal store when there is one; nil when no
// portal was ever run with this config (a recipient sent to the portal is
// then an error from evidence.Read). It never creates a store or a key.
func evidencePortal(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	if portalStoreExists(cfg) != nil {
		return nil, nil
	}
	st, _, err := openPortalStore(ctx, cfg, true)
	return st, err
}

// portalEvents reads a recipient's portal events from the portal store:
// the portal's ID of a copy is the queue ID and a hash of the address
// (box.MessageID).
type portalEvents struct{ st *store.Store }

// Events implements evidence.Portal.
func (p portalEvents) Events(ctx context.Context, queueID, rcpt string) ([]evidence.PortalEvent, error) {
	evs, err := p.st.Audit(ctx, box.MessageID(queueID, rcpt))
	if err != nil {
		return nil, err
	}
	out := make([]evidence.PortalEvent, len(evs))
	for i, e := range evs {
		out[i] = evidence.PortalEvent{Time: e.At.UTC(), Event: e.Kind, Actor: e.Actor, Remote: e.Remote, Detail: e.Detail}
	}
	return out, nil
}
