package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/passwd"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestQueueCommandsAgainstRunningGateway(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{retry: "[1h]", sink: smtpsink.Options{RcptReply: func(string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"}
	}}})
	for _, id := range []string{"q1@news.example.org", "q2@news.example.org"} {
		if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"pat@example.net"},
			newsMessage(id, "pat@example.net", "DO-NOT-SHOW-BODY")); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	testenv.WaitForState(t, 30*time.Second, "both messages in queue list", func() (bool, string) {
		code, out, _ := runCLI("queue", "--config", e.path, "list")
		if code != 0 {
			t.Fatalf("queue list exit %d", code)
		}
		if strings.Contains(out, "DO-NOT-SHOW-BODY") {
			t.Fatal("queue list shows the body")
		}
		if strings.Contains(out, "1 attempt") || strings.Contains(out, "451") || strings.Count(out, "(pending)") == 2 {
			ids = regexp.MustCompile(`(?m)^[0-9a-f]{24}`).FindAllString(out, -1)
		}
		return len(ids) == 2, out
	})
	code, out, _ := runCLI("queue", "--config", e.path, "show", ids[0])
	if code != 0 || !strings.Contains(out, `"pat@example.net"`) || strings.Contains(out, "DO-NOT-SHOW-BODY") {
		t.Fatalf("queue show: %d\n%s", code, out)
	}
	if code, _, _ := runCLI("queue", "--config", e.path, "retry", ids[0]); code != 0 {
		t.Errorf("queue retry exit %d", code)
	}
	if code, _, _ := runCLI("queue", "--config", e.path, "delete", ids[1]); code != 0 {
		t.Errorf("queue delete exit %d", code)
	}
	if code, _, errs := runCLI("queue", "--config", e.path, "show", ids[1]); code == 0 || !strings.Contains(errs, "no such message") {
		t.Errorf("show after delete: %d %q", code, errs)
	}
	testenv.WaitForState(t, 30*time.Second, "the retried message's second attempt to end", func() (bool, string) {
		_, out, _ := runCLI("queue", "--config", e.path, "show", ids[0])
		return strings.Contains(out, `"attempts": 2`) && strings.Contains(out, `"running": false`), out
	})
	code, out, _ = runCLI("queue", "--config", e.path, "flush")
	if code != 0 || !strings.Contains(out, "1 messages due now") {
		t.Errorf("queue flush: %d %q", code, out)
	}
	if code, _, errs := runCLI("queue", "release", ids[0], "--config", e.path); code != 1 || !strings.Contains(errs, "not held") {
		t.Errorf("release of a message that is not held: %d %q", code, errs)
	}
	if code, out, errs := runCLI("queue", "show", "--content", ids[0], "--config", e.path); code != 1 || out != "" || !strings.Contains(errs, "not held") {
		t.Errorf("content of a message that is not held: %d %q %q", code, out, errs)
	}
	acts := map[string]string{}
	for _, ev := range auditEvents(t, e.cfg.Log.AuditFile) {
		if op, _ := ev["operator"].(string); strings.HasPrefix(op, "uid=") {
			id, _ := ev["queue_id"].(string)
			acts[ev["action"].(string)+" "+id] = ev["result"].(string)
		}
	}
	for k, v := range map[string]string{"retry " + ids[0]: "ok", "delete " + ids[1]: "ok", "flush ": "ok",
		"release " + ids[0]: "not held", "show-content " + ids[0]: "requested"} {
		if acts[k] != v {
			t.Errorf("audit: %q recorded %q, want %q (all: %v)", k, acts[k], v, acts)
		}
	}
}

func TestQueueCommandWithoutGateway(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "s.yaml")
	os.WriteFile(cfg, []byte("data_dir: "+dir+"\nlisteners: [{name: l, address: \"127.0.0.1:2999\", tls: none, auth: none}]\nclients: [{name: c, networks: [127.0.0.1], allowed_senders: \"*\"}]\nencryption: {order: [tls]}\n"), 0o600)
	code, _, errs := runCLI("queue", "--config", cfg, "list")
	if code == 0 || !strings.Contains(errs, "control socket") {
		t.Fatalf("queue list without a gateway: %d %q", code, errs)
	}
}

func TestConfigCheckNamesFileAndLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("hostname: gw.example.org\nlisteners:\n  - {name: a, address: \"127.0.0.1:25\", tls: none, auth: none}\nbogus_key: 1\nlimits:\n  data_timeout: soon\n"), 0o600)
	code, _, errs := runCLI("config", "check", "--config", bad)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{bad + ":4: bogus_key", bad + ":6: limits.data_timeout"} {
		if !strings.Contains(errs, want) {
			t.Errorf("config check output lacks %q:\n%s", want, errs)
		}
	}
	code, _, errs = runCLI("serve", "--config", bad)
	if code != 1 || !strings.Contains(errs, bad+":4") {
		t.Errorf("serve with a bad config: %d %q", code, errs)
	}
}

func TestPasswdPrintsVerifiableHash(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := run([]string{"passwd"}, strings.NewReader("a sufficiently long secret\n"), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	ok, err := passwd.Verify(strings.TrimSpace(out.String()), []byte("a sufficiently long secret"))
	if err != nil || !ok {
		t.Fatalf("printed hash does not verify: %v", err)
	}
	code = run([]string{"passwd"}, strings.NewReader("short\n"), &out, &errb)
	if code == 0 {
		t.Error("short password accepted")
	}
}

// TestHealthCommand: `sealgate health` says ready while the gateway takes
// mail and not ready, with the reason, once it stops taking it.
func TestHealthCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	if code, out, errs := runCLI("health", "--config", e.path); code != 0 || out != "ready\n" {
		t.Fatalf("health of a running gateway: %d %q %q", code, out, errs)
	}
	e.gw.ready.Store(false)
	if code, _, errs := runCLI("health", "--config", e.path); code != 1 || !strings.Contains(errs, "starting or shutting down") {
		t.Fatalf("health of a gateway shutting down: %d %q", code, errs)
	}
	e.gw.ready.Store(true)
}
