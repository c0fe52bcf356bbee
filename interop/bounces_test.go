package interop

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// campaignSend submits one message as the campaign client over STARTTLS
// and AUTH PLAIN, and returns the reply error.
func (w *world) campaignSend(to, id string) error {
	c, err := smtp.DialStartTLS(w.gw.smtp, w.tlsConfig("gw.clinic.test"))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "news", appPass)); err != nil {
		return err
	}
	msg := "From: Clinic News <news@clinic.test>\r\nTo: <" + to + ">\r\nSubject: Flu shots this week\r\n" +
		"Message-ID: <" + id + ">\r\nDate: Sun, 06 Dec 2026 09:00:00 +0000\r\n\r\nWalk-in flu shots Monday to Friday.\r\n"
	return c.SendMail("news@clinic.test", []string{to}, strings.NewReader(msg))
}

// suppressed runs `sealgate suppress list --json` against the gateway's
// configuration and returns "domain address reason" lines.
func (w *world) suppressed(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command(w.gw.bin, "suppress", "list", "--json", "--config", filepath.Join(w.gw.dir, "sealgate.yaml")).Output()
	if err != nil {
		return nil // no store yet
	}
	var list []struct{ Domain, Address, Reason string }
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("suppress list: %v: %s", err, out)
	}
	var lines []string
	for _, s := range list {
		lines = append(lines, s.Domain+" "+s.Address+" "+s.Reason)
	}
	return lines
}

// asyncBounce: a campaign message to pat@gone.test leaves sealgate with a
// bounce address as its envelope sender; Postfix (gone.test's MX) takes it
// with 250 and then cannot deliver it (no such mailbox), so its bounce
// daemon writes an RFC 3464 DSN and sends it over SMTP to that bounce
// address, i.e. to sealgate's bounce listener. sealgate puts pat@gone.test
// on clinic.test's suppression list, and the next campaign message to it
// is refused at RCPT.
func (w *world) asyncBounce(t *testing.T) {
	if err := w.campaignSend("pat@gone.test", "campaign-1@clinic.test"); err != nil {
		t.Fatalf("campaign message: %v", err)
	}
	want := "clinic.test pat@gone.test hard_bounce"
	if !waitFor(60*time.Second, func() bool { return strings.Contains(strings.Join(w.suppressed(t), "\n"), want) }) {
		t.Fatalf("%q not suppressed after Postfix's bounce; list %q\npostfix log:\n%s\nsealgate log:\n%s",
			want, w.suppressed(t), tail(w.mx.log(), 30), tail(w.gw.log(), 20))
	}
	log := w.mx.log()
	if !strings.Contains(log, "to=<bounces+") || !strings.Contains(log, "@bounce.clinic.test>, relay="+w.bounceIP) {
		t.Errorf("Postfix's log shows no bounce sent to sealgate's bounce address:\n%s", tail(log, 30))
	}
	// Asynchronous: sealgate's own delivery succeeded, the DSN came later.
	audit, err := os.ReadFile(filepath.Join(w.gw.dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	var delivered, reported bool
	for _, line := range strings.Split(string(audit), "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) != nil || ev["rcpt"] != "pat@gone.test" {
			continue
		}
		delivered = delivered || ev["event"] == "delivery" && ev["result"] == "delivered"
		reported = reported || ev["event"] == "report" && ev["action"] == "dsn" && ev["reason"] == "hard" && ev["enhanced"] == "5.1.1"
	}
	if !delivered || !reported {
		t.Errorf("audit: delivered to Postfix %v, DSN 5.1.1 recorded as hard %v; want both", delivered, reported)
	}
	err = w.campaignSend("pat@gone.test", "campaign-2@clinic.test")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) {
		t.Fatalf("second campaign message to a bounced address: %v, want 550 5.7.1", err)
	}
}
