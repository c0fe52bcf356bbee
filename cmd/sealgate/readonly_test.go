package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/sys/unix"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// serveLines runs `sealgate serve` and hands every stdout line to lines;
// stderr goes to cfg+".log". The process is killed when the test ends.
func serveLines(t *testing.T, bin, cfg string) (*exec.Cmd, <-chan string) {
	t.Helper()
	logf, err := os.OpenFile(cfg+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd := exec.Command(bin, "serve", "--config", cfg)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// waitLine returns the rest of the first line from lines that starts with
// prefix, failing the test after timeout or when the process ends.
func waitLine(t *testing.T, lines <-chan string, prefix string, timeout time.Duration, cfg string) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				log, _ := os.ReadFile(cfg + ".log")
				t.Fatalf("gateway ended before %q:\n%s", prefix, log)
			}
			if rest, found := strings.CutPrefix(l, prefix); found {
				return rest
			}
		case <-deadline:
			log, _ := os.ReadFile(cfg + ".log")
			t.Fatalf("no %q after %v:\n%s", prefix, timeout, log)
		}
	}
}

// TestReadOnlyDataFolderStandsByThenServes: a gateway started while its
// data folder is on a read-only file system neither exits nor takes or
// delivers mail; it answers 421 4.3.2, says why on /readyz, and starts in
// full once the file system can be written again, delivering the mail it
// held before.
func TestReadOnlyDataFolderStandsByThenServes(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs the built binary on a tmpfs; skipped with -short")
	}
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
		t.Skip("mounting and remounting a tmpfs read-only needs root")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, data, 64<<20)
	remount := func(flags uintptr) {
		t.Helper()
		if err := unix.Mount("tmpfs", data, "tmpfs", unix.MS_REMOUNT|flags, ""); err != nil {
			t.Fatalf("remount %s: %v", data, err)
		}
	}
	t.Cleanup(func() { unix.Mount("tmpfs", data, "tmpfs", unix.MS_REMOUNT, "") })

	var deferAll atomic.Bool
	deferAll.Store(true)
	sink := smtpsink.Start(t, smtpsink.Options{RcptReply: func(string) *smtp.SMTPError {
		if deferAll.Load() {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 5}, Message: "try later"}
		}
		return nil
	}})
	cfg := fullDiskConfig(t, dir, data, sink.Addr, 0)
	cfgText, _ := os.ReadFile(cfg)
	cfgText = []byte(strings.Replace(string(cfgText), `metrics: {listen: ""}`, `metrics: {listen: "127.0.0.1:0"}`, 1))
	if err := os.WriteFile(cfg, cfgText, 0o600); err != nil {
		t.Fatal(err)
	}

	// 1. Mail is accepted and held: the next hop defers it.
	p, addr := startProcess(t, bin, cfg)
	const held = 5
	for i := range held {
		id := fmt.Sprintf("ro-%d@clinic.example.org", i)
		if err := sendPlain(addr, id); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	p.Process.Signal(syscall.SIGTERM)
	p.Wait()

	// 2. The file system turns read-only; the gateway starts in standby.
	remount(unix.MS_RDONLY)
	proc, lines := serveLines(t, bin, cfg)
	smtpAddr := strings.Fields(waitLine(t, lines, "sealgate: standby: SMTP relay on ", 30*time.Second, cfg))[0]
	metricsURL := strings.Fields(waitLine(t, lines, "sealgate: standby: metrics on ", 30*time.Second, cfg))[0]
	greeting := readGreeting(t, smtpAddr)
	if !strings.HasPrefix(greeting, "421 4.3.2 ") || !strings.Contains(greeting, "read-only") {
		t.Fatalf("standby greeting %q, want 421 4.3.2 naming the read-only storage", greeting)
	}
	res, err := http.Get(strings.TrimSuffix(metricsURL, "/metrics") + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "read-only") {
		t.Fatalf("/readyz in standby: %d %q, want 503 naming the read-only file system", res.StatusCode, body)
	}
	deferAll.Store(false) // the next hop would take mail now; nothing may be sent yet
	if err := proc.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("gateway exited on the read-only data folder: %v", err)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d messages delivered while the data folder was read-only (no audit or state could be written)", n)
	}

	// 3. Writable again: the gateway starts in full and delivers.
	remount(0)
	addr = strings.Fields(waitLine(t, lines, "sealgate: SMTP relay on ", 30*time.Second, cfg))[0]
	if err := sendPlain(addr, "ro-after@clinic.example.org"); err != nil {
		t.Fatalf("after the remount: %v", err)
	}
	missing := 0
	if !testenv.Poll(60*time.Second, func() bool {
		got := messageIDs(sink.Messages())
		missing = 0
		for i := range held {
			missing += boolInt(got[fmt.Sprintf("<ro-%d@clinic.example.org>", i)] == 0)
		}
		missing += boolInt(got["<ro-after@clinic.example.org>"] == 0)
		return missing == 0
	}) {
		log, _ := os.ReadFile(cfg + ".log")
		t.Fatalf("%d messages not delivered 60 s after the data folder became writable:\n%s", missing, log)
	}
}

// sendPlain sends one message with Message-ID id over plaintext SMTP.
func sendPlain(addr, id string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail("lab@clinic.example.org", []string{"dr@example.net"}, strings.NewReader(fullDiskBody(id)))
}

// readGreeting connects to addr and returns the server's first line.
func readGreeting(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("greeting from %s: %v", addr, err)
	}
	return strings.TrimSpace(line)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
