package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/evidence"
	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
)

// TestEvidenceOfOneMessageToSixRecipients sends the PHI message to six
// recipients that leave six ways — PGP, S/MIME, authenticated TLS to a
// loopback MTA, the portal (then opened, a code sent, read, an
// attachment downloaded, a reply sent), unencrypted by the patient's
// recorded consent, and a bounce — and checks that
// `evidence show` and `evidence export` (JSON lines and CSV) tell each
// recipient's path with the right fields, carry none of the message's
// PHI, and refuse an audit log that was edited.
func TestEvidenceOfOneMessageToSixRecipients(t *testing.T) {
	t.Parallel()
	evidenceScenario(t, "")
}

// TestEvidenceWithPostgresStore: the same with the portal's events and
// the consent register in a real PostgreSQL (store: postgres://…).
func TestEvidenceWithPostgresStore(t *testing.T) {
	t.Parallel()
	evidenceScenario(t, "store: \""+pgtest.URL(t)+"\"\n")
}

// evidenceScenario runs the six-recipient scenario with extra YAML (the
// store).
func evidenceScenario(t *testing.T, storeYAML string) {
	e := startProtEnv(t, protOptions{goodRcpt: func(rcpt string) *smtp.SMTPError {
		if rcpt == "gone@example.net" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}, yaml: func(string, *smtpsink.TestCA) string {
		return storeYAML + "policy:\n  rules:\n    - {name: tagged, if: {subject_tag: \"[secure]\"}, then: encrypt}\n" +
			"    - {name: other-sender, if: {sender: \"billing@*\"}, then: quarantine}\n    - {name: ehr, if: {client: ehr}, then: deliver}\n"
	}})
	cfg := filepath.Join(e.dir, "sealgate.yaml")
	if code, out, errs := runCLI("consent", "add", "pat@bad.example", "--channel", "paper", "--warning", "warning-v3", "--config", cfg); code != 0 {
		t.Fatalf("consent add: %d %s %s", code, out, errs)
	}
	rcpts := []string{"pgp@example.net", "smime@example.net", "tls@example.net", "nobody@bad.example", "pat@bad.example", "gone@example.net"}
	e.send(t, rcpts...)
	if _, err := e.good.Wait(3, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	openPortalCopy(t, e)
	waitMetric(t, e, "sealgate_queue_messages 0")
	if err := e.gw.audit.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	qid := queueIDOf(t, e, "pgp@example.net")
	if _, err := os.Stat(filepath.Join(e.cfg.DataDir, "portal", "portal.db")); (storeYAML == "") != (err == nil) {
		t.Fatalf("the portal's SQLite file: %v, with store YAML %q", err, storeYAML)
	}

	code, out, errs := runCLI("evidence", "export", "--since", "1h", "--format", "jsonl", "--config", cfg)
	if code != 0 || errs != "" {
		t.Fatalf("export: exit %d\n%s", code, errs)
	}
	checkNoPHIIn(t, "evidence export (jsonl)", out)
	recs := map[string]evidence.Record{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r evidence.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a JSON record: %q", line)
		}
		if r.QueueID == qid {
			recs[r.Recipient] = r
		}
	}
	if len(recs) != len(rcpts) {
		t.Fatalf("%d records for %s, want one per recipient (%d)", len(recs), qid, len(rcpts))
	}
	for _, r := range recs {
		checkEvidenceCommon(t, r)
	}
	checkEvidencePaths(t, recs)

	code, out, errs = runCLI("evidence", "export", "--since", "1h", "--message", qid, "--format", "csv", "--config", cfg)
	if code != 0 {
		t.Fatalf("export csv: exit %d\n%s", code, errs)
	}
	checkNoPHIIn(t, "evidence export (csv)", out)
	checkEvidenceCSV(t, out, qid)

	code, out, errs = runCLI("evidence", "show", qid, "--config", cfg)
	if code != 0 {
		t.Fatalf("show: exit %d\n%s", code, errs)
	}
	checkNoPHIIn(t, "evidence show", out)
	for _, want := range []string{qid + " → nobody@bad.example", "via portal", "portal    opened nobody@bad.example",
		"peer auth pinned", "bounced 550 5.1.1", "encrypted openpgp", "consent:  ", "result: delivered at"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	checkEvidenceUnsigned(t, e, cfg)
	checkEvidenceTampered(t, e, cfg, qid)
}

// checkEvidenceUnsigned: a record appended after the last checkpoint
// (here by a writer without the key) is exported marked not verified, and
// standard error says so; the records the checkpoint covers stay verified.
func checkEvidenceUnsigned(t *testing.T, e *protEnv, cfg string) {
	t.Helper()
	l, err := audit.Open(filepath.Join(e.dir, "audit.log"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Accepted(&mail.Envelope{ID: "UNSIGNED1", From: "lab@clinic.example.org", Client: "ehr", Rcpts: []mail.Rcpt{{Addr: "late@example.net"}}})
	l.Close()
	code, out, errs := runCLI("evidence", "export", "--since", "1h", "--format", "jsonl", "--config", cfg)
	if code != 0 || !strings.Contains(errs, "1 audit records after the last checkpoint are not yet signed") {
		t.Fatalf("export with an unsigned tail: exit %d, stderr %q", code, errs)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r evidence.Record
		json.Unmarshal([]byte(line), &r)
		if r.Verified != (r.QueueID != "UNSIGNED1") {
			t.Errorf("%s %s: verified %t", r.QueueID, r.Recipient, r.Verified)
		}
	}
}

// TestEvidenceTrust: what the export refuses and what it accepts with
// --partial.
func TestEvidenceTrust(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rep     audit.Report
		partial bool
		code    int
		want    string
	}{
		{audit.Report{Records: 5, Checkpoints: 1, FirstSeq: 1}, false, 0, ""},
		{audit.Report{Records: 5, FirstSeq: 1}, true, 1, "no signed checkpoint"},
		{audit.Report{Records: 5, Checkpoints: 1, FirstSeq: 40}, false, 1, "starts at seq 40"},
		{audit.Report{Records: 5, Checkpoints: 1, FirstSeq: 40}, true, 0, ""},
		{audit.Report{Records: 5, Checkpoints: 1, FirstSeq: 1, Unsigned: 2}, false, 0, "2 audit records after the last checkpoint"},
		{audit.Report{Records: 3, Checkpoints: 1, Broken: &audit.Break{File: "a.log", Line: 4, Why: "edited"}}, true, 1, "a.log:4: BROKEN: edited"},
	} {
		var out, errb bytes.Buffer
		code := evidenceTrust(tc.rep, tc.partial, stdio{out: &out, err: &errb})
		if code != tc.code || !strings.Contains(errb.String(), tc.want) || out.Len() != 0 || (code != 0) != strings.Contains(errb.String(), "NOT EXPORTED") {
			t.Errorf("%+v partial=%t: exit %d, stderr %q; want %d and %q", tc.rep, tc.partial, code, errb.String(), tc.code, tc.want)
		}
	}
}

// openPortalCopy opens the portal link at the bad.example sink as the
// recipient: a code sent and entered, the message read, the attachment
// downloaded and a reply sent, which reaches the sender's sink.
func openPortalCopy(t *testing.T, e *protEnv) {
	t.Helper()
	msgs, err := e.bad.Wait(2, 15*time.Second) // the notice, and the consenting patient's copy
	if err != nil {
		t.Fatal(err)
	}
	token := checkNotification(t, forRcpt(msgs, "nobody@bad.example"))
	c := newPortalClient(t, e.env)
	_, page := c.get("/m/" + token)
	if status, p := c.post("/code/send", page, url.Values{}); status != http.StatusOK {
		t.Fatalf("send code: %d", status)
	} else {
		page = p
	}
	status, page := c.post("/code/verify", page, url.Values{"code": {codeFor(t, e.bad, "nobody@bad.example")}})
	if status != http.StatusOK || !bytes.Contains(page, []byte(protBody)) {
		t.Fatalf("after the code: %d", status)
	}
	if status, _ := c.get("/attachment/0"); status != http.StatusOK {
		t.Fatalf("attachment: %d", status)
	}
	replyThrough(t, c, page)
	testenv.WaitFor(t, 30*time.Second, "the bounce and the portal reply in the sender's sink", func() bool {
		return len(forRcpt(e.good.Messages(), "lab@clinic.example.org")) >= 2
	})
}

// codeFor reads the one-time code from the second message to rcpt.
func codeFor(t *testing.T, sink *smtpsink.Sink, rcpt string) string {
	t.Helper()
	var msgs []smtpsink.Message
	testenv.WaitFor(t, 30*time.Second, "the code mail to "+rcpt, func() bool {
		msgs = forRcpt(sink.Messages(), rcpt)
		return len(msgs) >= 2
	})
	m := codeText.FindSubmatch(msgs[1].Data)
	if m == nil {
		t.Fatalf("no code in the code mail:\n%s", msgs[1].Data)
	}
	return string(m[1]) + string(m[2])
}

// queueIDOf finds the queue ID of the message to rcpt in the audit log.
func queueIDOf(t *testing.T, e *protEnv, rcpt string) string {
	t.Helper()
	qid, _ := acceptedRecord(t, e.dir, rcpt)
	return qid
}

// acceptedRecord finds the acceptance of the message to rcpt in the audit
// log in dir: the message's queue ID and the record's sequence number.
func acceptedRecord(t *testing.T, dir, rcpt string) (string, uint64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var ev struct {
			Seq     uint64
			Event   string
			QueueID string `json:"queue_id"`
			Rcpts   []string
		}
		json.Unmarshal([]byte(line), &ev)
		if ev.Event == "accepted" && slices.Contains(ev.Rcpts, rcpt) {
			return ev.QueueID, ev.Seq
		}
	}
	t.Fatalf("no accepted record for %s", rcpt)
	return "", 0
}

// checkNoPHIIn: none of the message's detected values, its attachment or
// the recipient's reply appear.
func checkNoPHIIn(t *testing.T, what, s string) {
	t.Helper()
	for _, v := range append(slices.Clone(protPHI), protBody, "Thank you, see you Monday", "PSA,7.9") {
		if strings.Contains(strings.ToLower(s), strings.ToLower(v)) {
			t.Errorf("%s carries %q", what, v)
		}
	}
}

// checkEvidenceCommon: every record names the client, the sender, the
// verdict with detector counts, and is covered by a signed checkpoint.
func checkEvidenceCommon(t *testing.T, r evidence.Record) {
	t.Helper()
	if r.Client != "ehr" || r.ClientAddr == "" || r.Sender != "lab@clinic.example.org" || r.Accepted.IsZero() {
		t.Errorf("%s: who: client %q addr %q sender %q accepted %v", r.Recipient, r.Client, r.ClientAddr, r.Sender, r.Accepted)
	}
	if !r.Policy.PHI || r.Policy.Action != "encrypt" || len(r.Policy.Reasons) == 0 || !slices.Equal(r.Policy.Rules, []string{"tagged", "ehr"}) {
		t.Errorf("%s: policy %+v", r.Recipient, r.Policy)
	}
	for _, reason := range r.Policy.Reasons {
		if reason.Detector == "" || reason.Count < 1 {
			t.Errorf("%s: reason %+v", r.Recipient, reason)
		}
	}
	if !r.Verified || len(r.AuditSeqs) < 2 || len(r.Attempts) == 0 || r.Method == "" || r.MethodReason == "" {
		t.Errorf("%s: verified %t seqs %v attempts %d method %q (%q)", r.Recipient, r.Verified, r.AuditSeqs, len(r.Attempts), r.Method, r.MethodReason)
	}
}

// checkEvidencePaths: each recipient's own way out.
func checkEvidencePaths(t *testing.T, recs map[string]evidence.Record) {
	t.Helper()
	last := func(r evidence.Record) evidence.Attempt { return r.Attempts[len(r.Attempts)-1] }
	for rcpt, want := range map[string][2]string{"pgp@example.net": {"pgp", "openpgp"}, "smime@example.net": {"smime", "aes-256-cbc"},
		"tls@example.net": {"tls", ""}} {
		r := recs[rcpt]
		a := last(r)
		if r.Method != want[0] || r.Encryption != want[1] || r.Result != "delivered" || a.Code != 250 ||
			a.TLSVersion == "" || a.TLSCipher == "" || a.PeerAuth != "pinned" || a.RemoteMTA == "" {
			t.Errorf("%s: method %q encryption %q result %q, last attempt %+v", rcpt, r.Method, r.Encryption, r.Result, a)
		}
	}
	p := recs["nobody@bad.example"]
	var events []string
	for _, e := range p.Portal {
		events = append(events, e.Event)
	}
	for _, want := range []string{"stored", "notice_sent", "code_sent", "signed_in", "opened", "downloaded", "replied"} {
		if !slices.Contains(events, want) {
			t.Errorf("portal recipient's events %q lack %s", events, want)
		}
	}
	if p.Method != "portal" || !strings.Contains(p.MethodReason, "authenticated TLS not available") || p.Result != "delivered" {
		t.Errorf("portal recipient: method %q (%q) result %q last attempt %+v", p.Method, p.MethodReason, p.Result, last(p))
	}
	// The notification is a message of its own, over TLS that does not
	// authenticate the bad.example sink; the record carries its delivery.
	if n := p.Notice; n == nil || n.QueueID != last(p).Notice || n.Result != "delivered" || len(n.Attempts) == 0 ||
		n.Attempts[0].TLSVersion == "" || n.Attempts[0].PeerAuth != "none" || n.Attempts[0].Code != 250 {
		t.Errorf("portal recipient's notification: %+v", n)
	}
	c := recs["pat@bad.example"]
	if c.Method != "consent" || !strings.HasPrefix(c.MethodReason, "recipient consented") || c.Consent == nil ||
		c.Consent.ID == "" || c.Consent.Channel != "paper" || c.Result != "delivered" || last(c).TLSVersion == "" || c.Encryption != "" {
		t.Errorf("consenting recipient: method %q (%q) consent %+v result %q last attempt %+v", c.Method, c.MethodReason, c.Consent, c.Result, last(c))
	}
	if recs["nobody@bad.example"].Consent != nil {
		t.Error("a recipient without consent has a consent basis")
	}
	g := recs["gone@example.net"]
	if a := last(g); g.Result != "bounced" || a.Code != 550 || a.Enhanced != "5.1.1" || a.Result != "bounced" {
		t.Errorf("bounced recipient: result %q, last attempt %+v", g.Result, a)
	}
}

// checkEvidenceCSV: a header and one row per recipient with the columns
// an auditor filters on.
func checkEvidenceCSV(t *testing.T, out, qid string) {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 7 || !slices.Equal(rows[0], evidence.CSVHeader()) {
		t.Fatalf("csv: %d rows, %v, header %q", len(rows), err, rows[0])
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	got := map[string][]string{}
	for _, row := range rows[1:] {
		if row[col["queue_id"]] != qid || row[col["client"]] != "ehr" || row[col["verified"]] != "true" || !strings.Contains(row[col["reasons"]], "×") {
			t.Errorf("csv row %q", row)
		}
		got[row[col["recipient"]]] = row
	}
	if r := got["tls@example.net"]; r == nil || r[col["method"]] != "tls" || r[col["last_peer_auth"]] != "pinned" || r[col["last_tls_cipher"]] == "" || r[col["result"]] != "delivered" {
		t.Errorf("csv tls row %q", r)
	}
	if r := got["pat@bad.example"]; r == nil || r[col["method"]] != "consent" || !strings.Contains(r[col["consent"]], " given paper at ") {
		t.Errorf("csv consent row %q", r)
	}
	if r := got["gone@example.net"]; r == nil || r[col["result"]] != "bounced" || r[col["last_code"]] != "550" || r[col["last_enhanced"]] != "5.1.1" {
		t.Errorf("csv bounce row %q", r)
	}
	if r := got["nobody@bad.example"]; r == nil || !strings.Contains(r[col["portal"]], " opened ") || !strings.Contains(r[col["portal"]], " replied ") {
		t.Errorf("csv portal row %q", r)
	}
}

// checkEvidenceTampered: the bounce's 550 edited into a 250 in the log
// makes export and show refuse, name the broken line and print nothing.
func checkEvidenceTampered(t *testing.T, e *protEnv, cfg, qid string) {
	t.Helper()
	path := filepath.Join(e.dir, "audit.log")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(data, []byte(`"code":550`), []byte(`"code":250`), 1)
	if bytes.Equal(edited, data) {
		t.Fatal("the log has no 550 to edit")
	}
	line := bytes.Count(data[:bytes.Index(data, []byte(`"code":550`))], []byte("\n")) + 1
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"evidence", "export", "--since", "1h", "--format", "csv"}, {"evidence", "show", qid}} {
		code, out, errs := runCLI(append(args, "--config", cfg)...)
		want := path + ":" + strconv.Itoa(line) + ": BROKEN"
		if code != 1 || out != "" || !strings.Contains(errs, want) || !strings.Contains(errs, "NOT EXPORTED") {
			t.Errorf("%q on an edited log: exit %d, stdout %q, stderr %q; want 1, nothing, and %q", args, code, out, errs, want)
		}
	}
}
