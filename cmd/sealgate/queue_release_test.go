package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/testenv"
)

// auditEvents reads the audit log's operator records.
func auditEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["event"] == "operator" {
			out = append(out, m)
		}
	}
	return out
}

// TestHeldMessageShownAndReleasedWithAudit: a message held by a
// quarantine rule is delivered only after `queue release`; `queue show
// --content` prints it; both, and a delete, are in the audit log with the
// operator's uid from the control socket's peer credentials.
func TestHeldMessageShownAndReleasedWithAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{extra: "policy:\n  rules:\n    - {if: {sender: \"hold@news.example.org\"}, then: quarantine}\n"})
	held := strings.Replace(newsMessage("held-1@news.example.org", "pat@example.net", "HELD-BODY-TEXT"), "news@news", "hold@news", 1)
	if err := submit(t, e.smtpAt, e.ca, "hold@news.example.org", []string{"pat@example.net"}, held); err != nil {
		t.Fatal(err)
	}
	if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"pat@example.net"},
		newsMessage("free-1@news.example.org", "pat@example.net", "FREE")); err != nil {
		t.Fatal(err)
	}
	var id string
	testenv.WaitForState(t, 30*time.Second, "the held message in the queue and the other one delivered", func() (bool, string) {
		_, out, _ := runCLI("queue", "list", "--config", e.path)
		if m := regexp.MustCompile(`(?m)^([0-9a-f]{24}).*\[held by policy\]`).FindStringSubmatch(out); m != nil && e.sink.Count() == 1 {
			id = m[1]
		}
		return id != "", fmt.Sprintf("sink has %d; queue list:\n%s", e.sink.Count(), out)
	})
	code, out, errs := runCLI("queue", "show", id, "--content", "--config", e.path)
	if code != 0 || !strings.Contains(out, "HELD-BODY-TEXT") {
		t.Fatalf("queue show --content: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI("queue", "release", "--config", e.path, "0123456789abcdef01234567"); code != 1 || !strings.Contains(errs, "no such message") {
		t.Errorf("release of an unknown ID: %d %q", code, errs)
	}
	if code, out, errs := runCLI("queue", "release", id, "--config", e.path); code != 0 || !strings.Contains(out, "released") {
		t.Fatalf("queue release: %d %q %q", code, out, errs)
	}
	testenv.WaitFor(t, 30*time.Second, "the released message delivered", func() bool { return e.sink.Count() >= 2 })
	if e.sink.Count() != 2 {
		t.Fatalf("released message not delivered: sink has %d", e.sink.Count())
	}
	// Delivered and gone: content is no longer shown, release refused.
	if code, _, _ := runCLI("queue", "show", "--content", id, "--config", e.path); code == 0 {
		t.Error("content of a delivered message shown")
	}
	uid := fmt.Sprintf("uid=%d", os.Getuid())
	if u, err := user.Current(); err == nil {
		uid += "(" + u.Username + ")"
	}
	want := map[string]string{"show-content": "requested", "release": "ok"}
	found := map[string]bool{}
	for _, ev := range auditEvents(t, e.cfg.Log.AuditFile) {
		act, _ := ev["action"].(string)
		who, _ := ev["operator"].(string)
		if ev["queue_id"] == id && want[act] == ev["result"] {
			found[act] = true
			if !strings.HasPrefix(who, uid+" pid=") {
				t.Errorf("%s audited as %q, want %s pid=…", act, who, uid)
			}
		}
		if strings.Contains(fmt.Sprint(ev), "HELD-BODY-TEXT") {
			t.Error("the audit log holds message content")
		}
	}
	if !found["show-content"] || !found["release"] {
		t.Errorf("audit log lacks operator records: %v", found)
	}
}
