package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// TestBounceReasonEverywhereWithoutAddressesOrContent: the remote reply of
// a refused recipient — code, enhanced code and its text with the address,
// quoted content and numbers stripped — is in the operational log, the
// audit record, `queue show` and the DSN; recipients of one message are
// told apart in the log by their place, not their address; a delivered
// recipient's log line has no code=0.
func TestBounceReasonEverywhereWithoutAddressesOrContent(t *testing.T) {
	t.Parallel()
	logs := &testenv.Buffer{}
	e := newEnv(t, envOpts{retry: "[1h]", logs: logs, sink: smtpsink.Options{RcptReply: func(rcpt string) *smtp.SMTPError {
		switch {
		case strings.HasPrefix(rcpt, "gone@"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
				Message: "User <gone@example.net> unknown, MRN 7654321 'Jane Doe'"}
		case strings.HasPrefix(rcpt, "later@"):
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox later@example.net over quota"}
		}
		return nil
	}}})
	// One message to a recipient that is taken, one refused for good, and
	// one deferred twice over (so it stays in the queue for `queue show`).
	rcpts := []string{"ok@example.net", "gone@example.net", "later@example.net"}
	if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", rcpts[:2],
		newsMessage("bounce-1@news.example.org", "ok@example.net", "hello")); err != nil {
		t.Fatal(err)
	}
	if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{rcpts[0], rcpts[2]},
		newsMessage("defer-1@news.example.org", "ok@example.net", "hello")); err != nil {
		t.Fatal(err)
	}
	// Two delivered copies and the DSN to news@news.example.org.
	msgs, err := e.sink.Wait(3, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var dsn string
	for _, m := range msgs {
		if m.From == "" {
			dsn = string(m.Data)
		}
	}
	for _, want := range []string{"Diagnostic-Code: smtp; 550 5.1.1 User [address] unknown, MRN [number] [quoted]",
		"the receiving server said: 550 5.1.1 User [address] unknown, MRN [number] [quoted]"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
	for _, leak := range []string{"7654321", "Jane Doe", "User <gone@example.net>"} { // the DSN names the recipient, but not from the remote text
		if strings.Contains(dsn, leak) {
			t.Errorf("DSN carries %q:\n%s", leak, dsn)
		}
	}

	// queue show: the deferred recipient's reason.
	var deferredID, show string
	testenv.WaitForState(t, 30*time.Second, "the deferred message's reason in queue show", func() (bool, string) {
		_, list, _ := runCLI("queue", "list", "--config", e.path)
		if deferredID = regexp.MustCompile(`(?m)^[0-9a-f]{24}`).FindString(list); deferredID == "" {
			return false, list
		}
		_, show, _ = runCLI("queue", "show", deferredID, "--config", e.path)
		return strings.Contains(show, "remote_text"), show
	})
	if !strings.Contains(show, `"remote_text": "Mailbox [address] over quota"`) || !strings.Contains(show, `"enhanced": "4.2.2"`) {
		t.Errorf("queue show lacks the deferral reason:\n%s", show)
	}

	// Failures counted by where they happened.
	want := []string{`sealgate_delivery_failures_total{result="bounced",stage="rcpt"} 1`,
		`sealgate_delivery_failures_total{result="deferred",stage="rcpt"} 1`}
	metrics := waitMetricLines(t, e, want...)
	for _, l := range want {
		if !hasMetricLine(metrics, l) {
			t.Errorf("metrics lack %s", l)
		}
	}

	// The audit records.
	var bounced, deferred map[string]any
	for _, line := range strings.Split(readFile(t, e.cfg.Log.AuditFile), "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) != nil || ev["event"] != "delivery" {
			continue
		}
		switch ev["result"] {
		case "bounced":
			bounced = ev
		case "deferred":
			deferred = ev
		}
	}
	if bounced["enhanced"] != "5.1.1" || bounced["remote_text"] != "User [address] unknown, MRN [number] [quoted]" {
		t.Errorf("audit bounce record: %v", bounced)
	}
	if deferred["enhanced"] != "4.2.2" || deferred["remote_text"] != "Mailbox [address] over quota" {
		t.Errorf("audit deferral record: %v", deferred)
	}

	// The operational log: one line per recipient, told apart by place.
	bounceID, _ := bounced["queue_id"].(string)
	lineOf := func(id, rcpt string) string {
		return regexp.MustCompile(`(?m)^.*msg=delivery queue_id=` + id + ` ` + rcpt + ` .*$`).FindString(logs.String())
	}
	got := map[string]string{"rcpt=1": lineOf(bounceID, "rcpt=1"), "rcpt=2": lineOf(bounceID, "rcpt=2"),
		"rcpt=3": lineOf(deferredID, "rcpt=2")}
	if l := got["rcpt=1"]; !strings.Contains(l, "result=delivered") || strings.Contains(l, "code=0") {
		t.Errorf("delivered line: %s", l)
	}
	if l := got["rcpt=2"]; !strings.Contains(l, "result=bounced") || !strings.Contains(l, "code=550") ||
		!strings.Contains(l, "enhanced=5.1.1") || strings.Contains(l, "remote_text") || strings.Contains(l, "unknown") {
		t.Errorf("bounced line: %s", l)
	}
	if l := got["rcpt=3"]; !strings.Contains(l, "result=deferred") || !strings.Contains(l, "enhanced=4.2.2") {
		t.Errorf("deferred line: %s", l)
	}
	for _, leak := range []string{"@example.net", "7654321", "Jane"} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("operational log carries %q", leak)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
