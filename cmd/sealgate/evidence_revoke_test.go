package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/evidence"
)

// TestEvidencePortalRevoked: a PHI message left in the portal and then
// revoked by an operator (`sealgate portal revoke`) has, in the evidence
// export for its recipient, the portal's events from stored to revoked,
// the revocation by the operator.
func TestEvidencePortalRevoked(t *testing.T) {
	t.Parallel()
	e := newProtEnv(t, nil, nil)
	e.portalNotice(t, "nobody@bad.example")
	waitMetric(t, e, "sealgate_queue_messages 0")
	code, out, errs := runCLI("portal", "list", "--json", "--config", e.path)
	var item struct{ ID string }
	if code != 0 || json.Unmarshal([]byte(strings.TrimSpace(out)), &item) != nil || item.ID == "" {
		t.Fatalf("portal list: %d %q %s", code, out, errs)
	}
	if code, out, errs := runCLI("portal", "revoke", item.ID, "--config", e.path); code != 0 {
		t.Fatalf("portal revoke: %d %s %s", code, out, errs)
	}
	if err := e.gw.audit.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI("evidence", "export", "--since", "1h", "--recipient", "nobody@bad.example", "--format", "jsonl", "--config", e.path)
	if code != 0 {
		t.Fatalf("export: %d %s", code, errs)
	}
	var r evidence.Record // the PHI message's, not its portal notice's
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec evidence.Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON record: %q", line)
		}
		if rec.Origin == "" {
			r = rec
		}
	}
	if len(r.Portal) == 0 {
		t.Fatalf("no portal events for the message:\n%s", out)
	}
	var events []string
	for _, p := range r.Portal {
		events = append(events, p.Event)
	}
	last := r.Portal[len(r.Portal)-1]
	if r.Method != "portal" || len(events) < 2 || events[0] != "stored" || last.Event != "revoked" || last.Actor == "" || last.Actor == "system" {
		t.Fatalf("method %q, portal events %q (last by %q)", r.Method, events, last.Actor)
	}
}
