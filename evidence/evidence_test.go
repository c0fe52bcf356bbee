package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/mail"
)

// portalRecord is a portal's event record held in memory: the portal
// store itself is read in cmd/sealgate's end-to-end test.
type portalRecord map[string][]PortalEvent

func (p portalRecord) Events(_ context.Context, q, rcpt string) ([]PortalEvent, error) {
	evs, ok := p[q+" "+rcpt]
	if !ok {
		return nil, errors.New("no such portal message")
	}
	return evs, nil
}

var t0 = time.Now().Add(-time.Minute) // the portal stored it just before the notice went out

// writeTestLog writes one message to three recipients (TLS, portal,
// bounced) and a second, older-looking one, checkpointed by Close; it returns
// the log's path and public key.
func writeTestLog(t *testing.T, unsignedTail bool) (string, ed25519.PublicKey) {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	p := filepath.Join(t.TempDir(), "audit.log")
	l, err := audit.Open(p, audit.Options{Key: key, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	env := &mail.Envelope{ID: "Q1", From: "lab@clinic.example.org", Client: "ehr", ClientAddr: "127.0.0.1",
		Rcpts: []mail.Rcpt{{Addr: "tls@example.net"}, {Addr: "pat@bad.example"}, {Addr: "gone@example.net"}},
		Policy: mail.PolicySummary{PHI: true, Action: "encrypt", Rule: "labs", Rules: []string{"tag", "labs"},
			Reasons: []string{"diagnosis×2", "mrn×1", "diagnosis×1"}}}
	l.Accepted(env)
	l.Delivery(env, mail.Outcome{Rcpt: "gone@example.net", Err: errors.New("550 no such user"), Permanent: true,
		Code: 550, Enhanced: "5.1.1", Method: "tls", MethodReason: "authenticated TLS at the destination"}, 1)
	l.Delivery(env, mail.Outcome{Rcpt: "tls@example.net", Err: errors.New("451 later"), Code: 451, Enhanced: "4.3.0",
		TLSVersion: "TLS1.3", TLSCipher: "TLS_AES_128_GCM_SHA256", Verification: "pinned", Method: "tls"}, 1)
	l.Delivery(env, mail.Outcome{Rcpt: "tls@example.net", Code: 250, TLSVersion: "TLS1.3", TLSCipher: "TLS_AES_128_GCM_SHA256",
		Verified: true, Verification: "pinned", Method: "tls", MethodReason: "authenticated TLS at the destination"}, 2)
	l.Delivery(env, mail.Outcome{Rcpt: "pat@bad.example", Notice: "N1",
		Method: "portal", MethodReason: "authenticated TLS not available at the destination"}, 1)
	notice := &mail.Envelope{ID: "N1", From: "lab@clinic.example.org", Client: "sealgate", Origin: "portal_notice",
		Rcpts: []mail.Rcpt{{Addr: "pat@bad.example"}}, Policy: mail.PolicySummary{Action: "deliver", Rule: "portal_notice"}}
	l.Accepted(notice)
	l.Delivery(notice, mail.Outcome{Rcpt: "pat@bad.example", Code: 250, TLSVersion: "TLS1.2", TLSCipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		Verification: "none", RemoteMTA: "mx.bad.example"}, 1)
	l.Operator("retry", "Q1", "uid=0(root) pid=1", "ok")
	old := &mail.Envelope{ID: "Q0", From: "lab@clinic.example.org", Rcpts: []mail.Rcpt{{Addr: "slow@example.org"}},
		Policy: mail.PolicySummary{Action: "deliver"}}
	l.Accepted(old)
	l.Delivery(old, mail.Outcome{Rcpt: "slow@example.org", Err: errors.New("451 later"), Code: 451}, 1)
	l.Expired(old, "slow@example.org", 1)
	l.Accepted(&mail.Envelope{ID: "Q2", From: "lab@clinic.example.org", Rcpts: []mail.Rcpt{{Addr: "=cmd@example.net"}},
		Policy: mail.PolicySummary{Action: "deliver"}})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if unsignedTail {
		l, _ = audit.Open(p, audit.Options{})
		l.Delivery(&mail.Envelope{ID: "Q2"}, mail.Outcome{Rcpt: "=cmd@example.net", Code: 250}, 1)
		l.Close()
	}
	return p, pub
}

var testPortal = portalRecord{"Q1 pat@bad.example": {
	{Time: t0.Add(time.Hour), Event: "view", Actor: "pat@bad.example", Remote: "192.0.2.7"},
	{Time: t0, Event: "created", Actor: "system"},
	{Time: t0.Add(2 * time.Hour), Event: "download", Actor: "pat@bad.example", Detail: "0"},
}}

func TestOneRecordPerRecipient(t *testing.T) {
	t.Parallel()
	p, pub := writeTestLog(t, false)
	recs, rep, err := Read(context.Background(), Query{Files: []string{p}, Key: pub, Portal: testPortal})
	if err != nil || rep.Broken != nil {
		t.Fatal(err, rep.Broken)
	}
	if len(recs) != 6 {
		t.Fatalf("%d records, want 6", len(recs))
	}
	tls, portal, gone, notice, q0, q2 := recs[0], recs[1], recs[2], recs[3], recs[4], recs[5]
	if q0.QueueID != "Q0" || q0.Result != "expired" || len(q0.Attempts) != 1 || len(q0.AuditSeqs) != 3 || !q0.Verified {
		t.Errorf("expired recipient: %+v", q0)
	}
	if tls.Recipient != "tls@example.net" || tls.Client != "ehr" || tls.ClientAddr != "127.0.0.1" || tls.Sender != "lab@clinic.example.org" {
		t.Errorf("who: %+v", tls)
	}
	if pol := tls.Policy; !pol.PHI || pol.Action != "encrypt" || pol.DecidingRule != "labs" || strings.Join(pol.Rules, ",") != "tag,labs" ||
		len(pol.Reasons) != 2 || pol.Reasons[0] != (Reason{"diagnosis", 3}) || pol.Reasons[1] != (Reason{"mrn", 1}) {
		t.Errorf("policy: %+v", pol)
	}
	if len(tls.Attempts) != 2 || tls.Attempts[0].Result != "deferred" || tls.Attempts[1].PeerAuth != "pinned" ||
		tls.Attempts[1].TLSCipher != "TLS_AES_128_GCM_SHA256" || tls.Result != "delivered" || tls.Method != "tls" ||
		tls.MethodReason != "authenticated TLS at the destination" {
		t.Errorf("tls recipient: %+v", tls)
	}
	if len(tls.Operator) != 1 || tls.Operator[0].Action != "retry" || !tls.Verified {
		t.Errorf("operator or verification: %+v", tls)
	}
	var events []string
	for _, e := range portal.Portal {
		events = append(events, e.Event)
	}
	if portal.Method != "portal" || strings.Join(events, ",") != "stored,notice_sent,opened,downloaded" {
		t.Errorf("portal recipient: method %q events %q", portal.Method, events)
	}
	if n := portal.Notice; n == nil || n.QueueID != "N1" || n.Result != "delivered" || len(n.Attempts) != 1 ||
		n.Attempts[0].RemoteMTA != "mx.bad.example" || n.Attempts[0].PeerAuth != "none" || !slices.Contains(portal.AuditSeqs, notice.AuditSeqs[0]) {
		t.Errorf("portal recipient's notification: %+v (seqs %v, the notice's %v)", n, portal.AuditSeqs, notice.AuditSeqs)
	}
	if notice.Origin != "portal_notice" || notice.Client != "sealgate" || tls.Notice != nil {
		t.Errorf("the notification's own record: %+v", notice)
	}
	if gone.Result != "bounced" || gone.Attempts[0].Code != 550 || gone.Attempts[0].Enhanced != "5.1.1" {
		t.Errorf("bounced recipient: %+v", gone)
	}
	if q2.Result != "queued" || q2.Policy.PHI || !q2.Verified {
		t.Errorf("second message: %+v", q2)
	}
}

func TestFiltersAndNoPortal(t *testing.T) {
	t.Parallel()
	p, pub := writeTestLog(t, false)
	ctx := context.Background()
	recs, _, _ := Read(ctx, Query{Files: []string{p}, Key: pub, Portal: testPortal, Recipient: "TLS@example.net"})
	if len(recs) != 1 || recs[0].Recipient != "tls@example.net" {
		t.Errorf("--recipient: %d records", len(recs))
	}
	recs, _, _ = Read(ctx, Query{Files: []string{p}, Key: pub, Portal: testPortal, QueueID: "Q2"})
	if len(recs) != 1 || recs[0].QueueID != "Q2" {
		t.Errorf("--message: %d records", len(recs))
	}
	recs, _, _ = Read(ctx, Query{Files: []string{p}, Key: pub, Portal: testPortal, Since: time.Now().Add(3 * time.Hour)})
	if len(recs) != 0 {
		t.Errorf("--since in the future: %d records", len(recs))
	}
	recs, _, _ = Read(ctx, Query{Files: []string{p}, Key: pub, Portal: testPortal, Since: time.Now().Add(-time.Hour)})
	if len(recs) != 6 {
		t.Errorf("--since an hour ago: %d records", len(recs))
	}
	if _, _, err := Read(ctx, Query{Files: []string{p}, Key: pub, QueueID: "Q1"}); !errors.Is(err, ErrNoPortal) {
		t.Errorf("portal recipient without a portal store: %v", err)
	}
}

// TestUnsignedAndBroken: a record after the last checkpoint is marked not
// verified; an edited log gives no record at all.
func TestUnsignedAndBroken(t *testing.T) {
	t.Parallel()
	p, pub := writeTestLog(t, true)
	recs, rep, err := Read(context.Background(), Query{Files: []string{p}, Key: pub, Portal: testPortal})
	if err != nil || rep.Broken != nil || len(recs) != 6 {
		t.Fatal(err, rep.Broken, len(recs))
	}
	if recs[5].Verified || recs[5].Result != "delivered" || !recs[0].Verified {
		t.Errorf("unsigned tail: q2 verified=%t result=%s; q1 verified=%t", recs[5].Verified, recs[5].Result, recs[0].Verified)
	}
	b, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(b, []byte(`"code":550`), []byte(`"code":250`), 1), 0o600)
	recs, rep, err = Read(context.Background(), Query{Files: []string{p}, Key: pub, Portal: testPortal})
	if err != nil || rep.Broken == nil || recs != nil {
		t.Errorf("edited log: err %v broken %v, %d records", err, rep.Broken, len(recs))
	}
}

func TestWriters(t *testing.T) {
	t.Parallel()
	p, pub := writeTestLog(t, false)
	recs, _, _ := Read(context.Background(), Query{Files: []string{p}, Key: pub, Portal: testPortal})
	var jl, cs, tx bytes.Buffer
	if err := WriteJSONL(&jl, recs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(jl.String()), "\n")
	var back Record
	if len(lines) != 6 || json.Unmarshal([]byte(lines[1]), &back) != nil || back.Recipient != "pat@bad.example" || len(back.Portal) != 4 {
		t.Errorf("jsonl: %d lines, %+v", len(lines), back)
	}
	if err := WriteCSV(&cs, recs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil || len(rows) != 7 {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	col := func(row int, name string) string {
		for i, h := range rows[0] {
			if h == name {
				return rows[row][i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	if col(1, "reasons") != "diagnosis×3; mrn×1" || col(1, "last_peer_auth") != "pinned" || col(1, "result") != "delivered" ||
		!strings.HasPrefix(col(1, "attempts"), "1 ") || col(6, "recipient") != "'=cmd@example.net" || col(5, "result") != "expired" {
		t.Errorf("csv row: %q %q %q", rows[1], rows[5], rows[6])
	}
	WriteText(&tx, recs[:2])
	for _, want := range []string{"Q1 → tls@example.net", "over TLS1.3 TLS_AES_128_GCM_SHA256, peer auth pinned", "portal    opened pat@bad.example 192.0.2.7"} {
		if !strings.Contains(tx.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, tx.String())
		}
	}
}

// TestAcrossRotation: a message accepted in one file and delivered in the
// next (the log renamed in between) is one record, read from the series.
func TestAcrossRotation(t *testing.T) {
	t.Parallel()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	p := filepath.Join(t.TempDir(), "audit.log")
	l, err := audit.Open(p, audit.Options{Key: key, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	env := &mail.Envelope{ID: "R1", From: "lab@clinic.example.org", Client: "ehr", Rcpts: []mail.Rcpt{{Addr: "dr@example.net"}}}
	l.Accepted(env)
	l.Checkpoint()
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	l.Delivery(env, mail.Outcome{Rcpt: "dr@example.net", Code: 250, TLSVersion: "TLS1.3", Verification: "dane", Method: "tls"}, 1)
	l.Close()
	files, err := audit.Series(p)
	if err != nil || len(files) != 2 {
		t.Fatalf("series %q %v", files, err)
	}
	recs, rep, err := Read(context.Background(), Query{Files: files, Key: pub})
	if err != nil || rep.Broken != nil || len(recs) != 1 {
		t.Fatalf("%d records, %v %v", len(recs), rep.Broken, err)
	}
	if r := recs[0]; r.Client != "ehr" || r.Result != "delivered" || r.Attempts[0].PeerAuth != "dane" || !r.Verified {
		t.Errorf("record across the rotation: %+v", r)
	}
	if _, rep, _ := Read(context.Background(), Query{Files: files[1:], Key: pub}); rep.FirstSeq <= 1 {
		t.Errorf("the newer file alone starts at seq %d; the export needs --partial for it", rep.FirstSeq)
	}
}
