package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/store"
)

// auditRecord is the part of an audit line the consent tests read.
type auditRecord struct {
	Event, Action, Rcpt, Method, Reason, Result, Operator, Origin string
	TLS                                                           string `json:"tls"`
	Consent                                                       *struct {
		ID      string    `json:"id"`
		Time    time.Time `json:"time"`
		Channel string    `json:"channel"`
	}
}

func auditRecords(t *testing.T, path string) []auditRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditRecord
	for _, line := range strings.Split(string(data), "\n") {
		var r auditRecord
		if json.Unmarshal([]byte(line), &r) == nil && r.Event != "" {
			out = append(out, r)
		}
	}
	return out
}

// deliveredTo returns the delivered audit records of rcpt for mail a
// client submitted (not a portal notice sealgate wrote), oldest first.
func deliveredTo(t *testing.T, e *protEnv, rcpt string) []auditRecord {
	var out []auditRecord
	for _, r := range auditRecords(t, filepath.Join(e.dir, "audit.log")) {
		if r.Event == "delivery" && r.Rcpt == rcpt && r.Result == "delivered" && r.Origin == "" {
			out = append(out, r)
		}
	}
	return out
}

// waitSink waits for the n-th message at s and returns the messages for rcpt.
func waitSink(t *testing.T, s *smtpsink.Sink, n int, rcpt string) []smtpsink.Message {
	t.Helper()
	msgs, err := s.Wait(n, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return forRcpt(msgs, rcpt)
}

// TestConsentEndToEnd: a PHI message to two recipients at a destination
// whose TLS does not authenticate; pat@ consented, so pat@ gets the
// message readable over TLS and sam@ a portal notification. After `consent
// revoke`, the next message to pat@ goes by the portal; so does one sent
// while the consent register cannot be read. The audit log says which
// method and why, with the consent's ID, time and channel.
func TestConsentEndToEnd(t *testing.T) {
	t.Parallel()
	e := newProtEnv(t, nil, nil)
	cfgPath := filepath.Join(e.dir, "sealgate.yaml")
	warning := protWrite(t, e.dir, "warning.txt", []byte("Plain e-mail can be read by others on its way. You asked for it anyway."))
	code, out, errOut := runCLI("consent", "add", "Pat@bad.example", "--channel", "paper", "--warning-file", warning, "--config", cfgPath)
	if code != 0 {
		t.Fatalf("consent add: %d %s %s", code, out, errOut)
	}
	c := listConsents(t, cfgPath, "--json")
	if len(c) != 1 || c[0].Address != "pat@bad.example" || c[0].Channel != "paper" || !strings.HasPrefix(c[0].Warning, "Plain e-mail") ||
		c[0].RecordedBy != localOperator() {
		t.Fatalf("consent list: %+v", c)
	}
	code, out, _ = runCLI("consent", "list", "--config", cfgPath)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], c[0].ID) || !strings.Contains(lines[1], "pat@bad.example") || !strings.Contains(lines[1], "paper") {
		t.Fatalf("consent list as a table: %d\n%s", code, out)
	}
	code, _, errOut = runCLI("consent", "add", "pat@bad.example", "--channel", "phone", "--warning", "warning-v2", "--config", cfgPath)
	if code == 0 || !strings.Contains(errOut, c[0].ID) {
		t.Fatalf("a second consent in force: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI("consent", "revoke", "sam@bad.example", "--config", cfgPath); code == 0 || !strings.Contains(errOut, "no consent in force") {
		t.Fatalf("revoking a consent that is not there: %d %s", code, errOut)
	}

	e.send(t, "pat@bad.example", "sam@bad.example")
	pat := waitSink(t, e.bad, 2, "pat@bad.example")
	if len(pat) != 1 || !pat[0].TLS || !bytes.Contains(pat[0].Data, []byte(protBody)) {
		t.Fatalf("consenting recipient: %d messages, TLS %v", len(pat), len(pat) == 1 && pat[0].TLS)
	}
	checkNotification(t, forRcpt(e.bad.Messages(), "sam@bad.example"))
	waitMetric(t, e, "sealgate_queue_messages 0")
	d := deliveredTo(t, e, "pat@bad.example")
	if len(d) != 1 || d[0].Method != "consent" || !strings.HasPrefix(d[0].Reason, "recipient consented") || d[0].TLS == "" ||
		d[0].Consent == nil || d[0].Consent.ID != c[0].ID || d[0].Consent.Channel != "paper" || !d[0].Consent.Time.Equal(c[0].At) {
		t.Fatalf("audit of the consent copy: %+v", d)
	}
	if s := deliveredTo(t, e, "sam@bad.example"); len(s) != 1 || s[0].Method != "portal" || s[0].Consent != nil {
		t.Fatalf("audit of the other recipient: %+v", s)
	}
	notices := 0
	for _, r := range auditRecords(t, filepath.Join(e.dir, "audit.log")) {
		if r.Event == "delivery" && r.Rcpt == "sam@bad.example" && r.Origin == "portal_notice" && r.Result == "delivered" {
			notices++
		}
	}
	if notices != 1 {
		t.Fatalf("audited %d deliveries of sam@'s portal notice, want 1", notices)
	}

	if code, out, errOut := runCLI("consent", "revoke", "pat@bad.example", "--config", cfgPath); code != 0 {
		t.Fatalf("consent revoke: %d %s %s", code, out, errOut)
	}
	if c := listConsents(t, cfgPath, "--json"); len(c) != 0 {
		t.Fatalf("consents in force after revoke: %+v", c)
	}
	if all := listConsents(t, cfgPath, "--json", "--all"); len(all) != 1 || all[0].Revoked.IsZero() {
		t.Fatalf("register after revoke: %+v", all)
	}
	e.send(t, "pat@bad.example")
	checkNotification(t, waitSink(t, e.bad, 3, "pat@bad.example")[1:])
	waitMetric(t, e, "sealgate_queue_messages 0")
	if d := deliveredTo(t, e, "pat@bad.example"); len(d) != 2 || d[1].Method != "portal" || d[1].Consent != nil {
		t.Fatalf("audit after revoke: %+v", d)
	}

	// Consent again, then the register becomes unreadable: protected.
	if code, out, errOut := runCLI("consent", "add", "pat@bad.example", "--channel", "portal", "--warning", "warning-v2", "--config", cfgPath); code != 0 {
		t.Fatalf("consent add again: %d %s %s", code, out, errOut)
	}
	breakConsentRegister(t, filepath.Join(e.cfg.DataDir, "portal", "portal.db"))
	e.send(t, "pat@bad.example")
	checkNotification(t, waitSink(t, e.bad, 4, "pat@bad.example")[2:])
	waitMetric(t, e, "sealgate_queue_messages 0")
	d = deliveredTo(t, e, "pat@bad.example")
	if len(d) != 3 || d[2].Method != "portal" || !strings.Contains(d[2].Reason, "consent register unreadable") {
		t.Fatalf("audit with the register unreadable: %+v", d)
	}
	waitMetric(t, e, "sealgate_consent_lookup_errors_total 1")
	checkConsentAudit(t, e)
}

func listConsents(t *testing.T, cfgPath string, flags ...string) []store.Consent {
	t.Helper()
	code, out, errOut := runCLI(append([]string{"consent", "list", "--config", cfgPath}, flags...)...)
	if code != 0 {
		t.Fatalf("consent list: %d %s", code, errOut)
	}
	var list []store.Consent
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("consent list --json: %v\n%s", err, out)
	}
	return list
}

// breakConsentRegister renames the consents table away under the running
// gateway, as a damaged or half-migrated database would be.
func breakConsentRegister(t *testing.T, dbPath string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`ALTER TABLE consents RENAME TO consents_damaged`); err != nil {
		t.Fatal(err)
	}
}

// checkConsentAudit: every change of the register is in the audit log,
// with the operator.
func checkConsentAudit(t *testing.T, e *protEnv) {
	t.Helper()
	var got []string
	for _, r := range auditRecords(t, filepath.Join(e.dir, "audit.log")) {
		if r.Event == "consent" && r.Consent != nil {
			got = append(got, fmt.Sprintf("%s %s %s %s", r.Action, r.Rcpt, r.Consent.Channel, r.Operator))
		}
	}
	op := localOperator()
	want := []string{"add pat@bad.example paper " + op, "revoke pat@bad.example paper " + op, "add pat@bad.example portal " + op}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("consent audit: %q, want %q", got, want)
	}
}

// TestConsentAddRefusedWithoutAudit: a consent that cannot be recorded in
// the audit log is not added.
func TestConsentAddRefusedWithoutAudit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := protWrite(t, dir, "sealgate.yaml", []byte(fmt.Sprintf(`hostname: gw.example.org
data_dir: %[1]s/data
listeners: [{name: mx, address: "127.0.0.1:0", tls: none, auth: none}]
encryption: {order: [tls]}
log: {audit_file: %[1]s}
`, dir)))
	code, _, errOut := runCLI("consent", "add", "pat@example.net", "--channel", "phone", "--warning", "warning-v2", "--config", cfgPath)
	if code == 0 || !strings.Contains(errOut, "not added") {
		t.Fatalf("consent add with the audit log unwritable: %d %s", code, errOut)
	}
	if c := listConsents(t, cfgPath, "--json", "--all"); len(c) != 0 {
		t.Fatalf("added anyway: %+v", c)
	}
	code, _, errOut = runCLI("consent", "add", "pat@example.net", "--channel", "pigeon", "--warning", "w", "--config", cfgPath)
	if code == 0 || !strings.Contains(errOut, "paper") {
		t.Fatalf("unknown channel: %d %s", code, errOut)
	}
}
