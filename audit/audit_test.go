package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/mail"
)

func TestEventsAreJSONLinesWithoutContent(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := New(&buf)
	env := &mail.Envelope{ID: "abc", From: "lab@clinic.example.org", Client: "ehr",
		Rcpts:  []mail.Rcpt{{Addr: "pat@example.net"}},
		Policy: mail.PolicySummary{PHI: true, Action: "encrypt", Reasons: []string{"us_ssn×1"}}}
	l.Accepted(env)
	l.Delivery(env, mail.Outcome{Rcpt: "pat@example.net", Err: errors.New("452 mailbox full"), Code: 452, TLSVersion: "TLS1.3"}, 1)
	l.Rejected("marketing", "127.0.0.1", "sender_denied")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %d", len(lines))
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["event"] != "delivery" || ev["result"] != "deferred" || ev["rcpt"] != "pat@example.net" {
		t.Errorf("delivery event: %v", ev)
	}
	if strings.Contains(buf.String(), "mailbox full") {
		t.Error("remote reply text copied into the audit log")
	}
}

func TestOpenCreates0600(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Rejected("c", "127.0.0.1", "rate_limit")
	l.Close()
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() == 0 {
		t.Fatalf("audit file: %v %v", st.Mode(), err)
	}
	var nilLog *Log
	nilLog.Rejected("x", "y", "z") // must not panic
}

func TestOperatorRecordsWhoAndWhat(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf)
	if err := l.Operator("release", "abc123", "uid=1000(alice) pid=7", "ok"); err != nil {
		t.Fatal(err)
	}
	if err := l.Operator("portal-revoke", "p-9", "uid=0(root) pid=8", "ok"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var a, b map[string]any
	json.Unmarshal([]byte(lines[0]), &a)
	json.Unmarshal([]byte(lines[1]), &b)
	if a["event"] != "operator" || a["action"] != "release" || a["queue_id"] != "abc123" ||
		a["operator"] != "uid=1000(alice) pid=7" || a["result"] != "ok" {
		t.Errorf("release record: %v", a)
	}
	if b["portal_id"] != "p-9" || b["queue_id"] != nil || b["action"] != "portal-revoke" {
		t.Errorf("portal record: %v", b)
	}
	var nilLog *Log
	if nilLog.Operator("delete", "x", "y", "ok") == nil {
		t.Error("a missing audit log reports success")
	}
}

// TestOperatorOnAPipe: an audit log on standard error that is a pipe (log.audit_file: "-")
// cannot be synced; the operator record still counts as written.
func TestOperatorOnAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l := &Log{w: w, now: time.Now}
	done := make(chan []byte)
	go func() {
		b := make([]byte, 4096)
		n, _ := r.Read(b)
		done <- b[:n]
	}()
	if err := l.Operator("release", "abc", "uid=0(root) pid=1", "ok"); err != nil {
		t.Fatalf("operator record on a pipe: %v", err)
	}
	if got := <-done; !strings.Contains(string(got), `"action":"release"`) {
		t.Errorf("pipe got %q", got)
	}
	w.Close()
}
