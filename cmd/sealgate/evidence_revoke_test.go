package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/evidence"
	"github.com/sealgate/sealgate/internal/testenv"
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
	checkLastPortalEvent(t, e, "revoked", func(actor string) bool { return actor != "" && actor != "system" })
}

// TestEvidencePortalExpired: a portal message past portal.message_ttl,
// removed by `sealgate portal purge`, ends in the evidence export with an
// expired event by the system.
func TestEvidencePortalExpired(t *testing.T) {
	t.Parallel()
	e := startProtEnv(t, protOptions{portal: "  message_ttl: 1s\n"})
	e.portalNotice(t, "nobody@bad.example")
	waitMetric(t, e, "sealgate_queue_messages 0")
	testenv.WaitForState(t, 30*time.Second, "the portal message purged once expired", func() (bool, string) {
		_, out, errs := runCLI("portal", "purge", "--config", e.path)
		return strings.Contains(out, "purged 1 "), out + errs
	})
	checkLastPortalEvent(t, e, "expired", func(actor string) bool { return actor == "system" })
}

// checkLastPortalEvent checks, in the evidence export for
// nobody@bad.example after a checkpoint, that the PHI message went by the
// portal and that its portal events run from stored to event, by an actor
// that actorOK accepts.
func checkLastPortalEvent(t *testing.T, e *protEnv, event string, actorOK func(string) bool) {
	t.Helper()
	if err := e.gw.audit.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI("evidence", "export", "--since", "1h", "--recipient", "nobody@bad.example", "--format", "jsonl", "--config", e.path)
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
	if r.Method != "portal" || len(events) < 2 || events[0] != "stored" || last.Event != event || !actorOK(last.Actor) {
		t.Fatalf("method %q, portal events %q (last by %q), want the last %s", r.Method, events, last.Actor, event)
	}
}
