package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// TestAuditVerifyBinary runs the built gateway: mail accepted and
// delivered, the log rotated (renamed) while it runs, then SIGTERM, which
// writes a last checkpoint. `sealgate audit verify` passes on the
// rotated series, names the line of a record edited in the middle, a
// removed line and a truncated log, and refuses a checkpoint signed by
// another key.
func TestAuditVerifyBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built binary; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	sink := smtpsink.Start(t, smtpsink.Options{})
	dir := t.TempDir()
	cfg := crashConfig(t, dir, "127.0.0.1:0", sink.Addr)
	proc, listen := startProcess(t, bin, cfg)
	send := func(id string) {
		c, err := smtp.Dial(listen)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		msg := "From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: r\r\nMessage-ID: <" + id + "@clinic.example.org>\r\n\r\nbody\r\n"
		if err := c.SendMail("lab@clinic.example.org", []string{"dr@example.net"}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "data", "audit.log")
	send("a1")
	if _, err := sink.Wait(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFileLines(t, logPath, 2) // accepted, delivery
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	send("a2")
	if _, err := sink.Wait(2, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFileLines(t, logPath, 2)
	proc.Process.Signal(syscall.SIGTERM)
	if err := proc.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}

	run := func(args ...string) (int, string, string) {
		return sealgateCmd(t, bin, dir, nil, append([]string{"audit", "verify", "--config", cfg}, args...)...)
	}
	code, out, errOut := run(logPath+".1", logPath)
	if code != 0 || !strings.Contains(out, "chain intact") || !strings.Contains(out, "signed checkpoints") || strings.Contains(out, "not yet signed") {
		t.Fatalf("intact rotated series: exit %d\n%s%s", code, out, errOut)
	}
	lines := fileLines(t, logPath)
	if len(lines) < 3 || !strings.Contains(lines[len(lines)-1], `"event":"checkpoint"`) {
		t.Fatalf("the log after SIGTERM does not end with a checkpoint: %q", lines)
	}
	code, out, errOut = run(logPath, logPath+".1")
	if code != 1 || !strings.Contains(errOut, logPath+".1:1: BROKEN") {
		t.Errorf("files out of order: exit %d\n%s%s", code, out, errOut)
	}

	tamper := func(name string, change func([]string) []string, want string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(strings.Join(change(fileLines(t, logPath)), "")), 0o600)
		code, out, errOut := run(logPath+".1", p)
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, want 1 and %q\n%s%s", name, code, want, out, errOut)
		}
	}
	tamper("edited.log", func(l []string) []string {
		l[0] = strings.Replace(l[0], "dr@example.net", "dr@example.org", 1)
		return l
	}, "edited.log:1: BROKEN: this record was edited")
	tamper("removed.log", func(l []string) []string { return append(l[:1:1], l[2:]...) }, "removed.log:2: BROKEN: record seq")
	tamper("truncated.log", func(l []string) []string {
		l[len(l)-1] = l[len(l)-1][:20]
		return l
	}, fmt.Sprintf("truncated.log:%d", len(lines))+": BROKEN: the last line is cut short")

	// The current file alone continues the rotated one: checked from where
	// it starts only with --partial.
	if code, out, errOut := run(logPath); code != 1 || !strings.Contains(errOut, "NOT VERIFIED") {
		t.Errorf("a file that continues one not given: exit %d, want 1\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run("--partial", logPath); code != 0 {
		t.Errorf("the same with --partial: exit %d\n%s%s", code, out, errOut)
	}
	// Logs written without the key: every line stripped of its chain, and a
	// made-up chain with no checkpoint, are refused even with --partial.
	forge := func(name string, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		if code, out, errOut := run("--partial", p); code != 1 || !strings.Contains(errOut, "no signed checkpoint") {
			t.Errorf("%s: exit %d, want 1 and no signed checkpoint\n%s%s", name, code, out, errOut)
		}
	}
	unchained := regexp.MustCompile(`"(seq|prev)":("[^"]*"|[0-9]+),?`)
	forge("unchained.log", unchained.ReplaceAllString(strings.Join(fileLines(t, logPath), ""), ""))
	forge("madeup.log", `{"seq":900,"prev":"`+strings.Repeat("5a", 32)+`","event":"accepted","queue_id":"X"}`+"\n")

	// Another key: verify with the wrong public key fails at the first checkpoint.
	other := strings.Repeat("ab", 32)
	code, _, errOut = run("--public-key", other, logPath+".1", logPath)
	if code != 1 || !strings.Contains(errOut, "not the gateway's audit key") {
		t.Errorf("foreign key: exit %d %s", code, errOut)
	}
	code, keyOut, _ := sealgateCmd(t, bin, dir, nil, "audit", "key", "--config", cfg)
	if code != 0 || len(strings.TrimSpace(keyOut)) != 64 {
		t.Fatalf("audit key: %d %q", code, keyOut)
	}
	code, out, errOut = run("--public-key", strings.TrimSpace(keyOut), logPath+".1", logPath)
	if code != 0 {
		t.Errorf("verify with the printed public key: exit %d\n%s%s", code, out, errOut)
	}
}

func fileLines(t *testing.T, p string) []string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	l := strings.SplitAfter(string(b), "\n")
	return l[:len(l)-1]
}

// waitFileLines waits, bounded, until the file has at least n lines.
func waitFileLines(t *testing.T, p string, n int) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("%d lines in %s", n, p), func() bool {
		b, err := os.ReadFile(p)
		return err == nil && strings.Count(string(b), "\n") >= n
	})
}
