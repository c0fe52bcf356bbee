package main

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/internal/testenv"
)

// TestStoreDownMidRun: a gateway on a shared PostgreSQL store whose
// database stops while it runs. Transactional mail, PHI included, is still
// accepted and delivered (over the verified hop; an unreadable consent
// register never unprotects); a marketing client's recipients get 451
// 4.3.0, never a guess, because the suppression list cannot be read; once
// the database is back, the same running gateway refuses the suppressed
// address again and takes the others, with no restart.
func TestStoreDownMidRun(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartCluster(t)
	e := newCampaignEnv(t, "store: \""+pgtest.NewDB(t, pg.URL)+"\"\n")
	if code, out, errOut := runCLI("suppress", "add", "gone@example.net", "--domain", "clinic.example.org", "--config", e.path); code != 0 {
		t.Fatalf("suppress add: %d %s %s", code, out, errOut)
	}
	if err := e.send("news", "news@clinic.example.org", "gone@example.net", campaignMessage("m0@clinic", "gone@example.net")); !isSuppressedReply(err) {
		t.Fatalf("store up, suppressed address: %v, want 550 5.7.1", err)
	}

	pg.Stop(t)
	if err := e.send("ehr", "reminders@clinic.example.org", "pat@example.net", campaignMessage("t1@clinic", "pat@example.net")); err != nil {
		t.Fatalf("store down, transactional mail: %v, want it accepted", err)
	}
	phi := "From: Dr Smith <dr.smith@clinic.example.org>\r\nTo: pat@example.net\r\nSubject: Your results\r\n" +
		"Message-ID: <phi1@clinic>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nPatient: Ines Marlowe\r\nSSN 692-55-2407\r\n"
	if err := e.send("ehr", "dr.smith@clinic.example.org", "pat@example.net", phi); err != nil {
		t.Fatalf("store down, PHI mail: %v, want it accepted", err)
	}
	msgs, err := e.sink.Wait(2, 20*time.Second)
	if err != nil {
		t.Fatalf("store down, transactional mail not delivered: %v", err)
	}
	got := string(msgs[0].Data) + string(msgs[1].Data)
	if !strings.Contains(got, "t1@clinic") || !strings.Contains(got, "phi1@clinic") {
		t.Fatalf("store down: delivered %d messages without both the plain and the PHI one", len(msgs))
	}
	testenv.WaitFor(t, 10*time.Second, "the audit record of the PHI message delivered with method tls", func() bool {
		return phiDeliveredOverTLS(t, e.dir+"/audit.log")
	})
	for _, rcpt := range []string{"sam@example.net", "gone@example.net"} {
		start := time.Now()
		err := e.send("news", "news@clinic.example.org", rcpt, campaignMessage("m1@clinic", rcpt))
		if !isTempStoreReply(err) {
			t.Fatalf("store down, marketing RCPT %s: %v, want 451 4.3.0", rcpt, err)
		}
		t.Logf("store down: marketing RCPT answered 451 4.3.0 in %v", time.Since(start).Round(time.Millisecond))
	}

	pg.Start(t)
	testenv.WaitFor(t, 30*time.Second, "marketing mail accepted after the store is back", func() bool {
		return e.send("news", "news@clinic.example.org", "sam@example.net", campaignMessage("m2@clinic", "sam@example.net")) == nil
	})
	if err := e.send("news", "news@clinic.example.org", "gone@example.net", campaignMessage("m3@clinic", "gone@example.net")); !isSuppressedReply(err) {
		t.Fatalf("store back, suppressed address: %v, want 550 5.7.1", err)
	}
	msgs, err = e.sink.Wait(3, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if strings.Contains(string(m.Data), "m1@clinic") || strings.Contains(string(m.Data), "m3@clinic") {
			t.Fatal("a campaign message refused while the store was down (or for a suppressed address) was delivered")
		}
	}
}

// isTempStoreReply reports whether err is 451 4.3.0, the answer when the
// suppression list cannot be read.
func isTempStoreReply(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == 451 && se.EnhancedCode == smtp.EnhancedCode{4, 3, 0}
}

// phiDeliveredOverTLS reports whether the audit log records a delivery
// of a message that held PHI, protected with method tls.
func phiDeliveredOverTLS(t *testing.T, path string) bool {
	t.Helper()
	phiIDs := map[string]bool{}
	for _, line := range strings.Split(string(mustRead(t, path)), "\n") {
		var ev struct {
			Event, QueueID, Method, Result string
			PHI                            *bool
		}
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		if ev.PHI != nil && *ev.PHI {
			phiIDs[ev.QueueID] = true
		}
		if phiIDs[ev.QueueID] && ev.Method == "tls" && ev.Result == "delivered" {
			return true
		}
	}
	return false
}

// TestStoreDownPortalMessageWaits: a message the policy sends to the
// pickup portal is accepted while the shared store is down, is not lost
// and not sent any other way: its delivery is deferred (audited) and it
// stays in the spool; once the database is back, the retry stores it in
// the portal and the recipient gets the notice.
func TestStoreDownPortalMessageWaits(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartCluster(t)
	e := newCampaignEnv(t, "store: \""+pgtest.NewDB(t, pg.URL)+"\"\n"+
		"policy: {rules: [{name: ehr-portal, if: {header: \"X-Sealgate-Encrypt: yes\"}, then: {encrypt: portal}}]}\n")
	pg.Stop(t)
	msg := "From: Dr Smith <dr.smith@clinic.example.org>\r\nTo: pat2@example.net\r\nSubject: Your results\r\n" +
		"X-Sealgate-Encrypt: yes\r\nMessage-ID: <portal1@clinic>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nAll normal.\r\n"
	if err := e.send("ehr", "dr.smith@clinic.example.org", "pat2@example.net", msg); err != nil {
		t.Fatalf("store down, portal message: %v, want it accepted", err)
	}
	testenv.WaitFor(t, 20*time.Second, "a deferred delivery of the portal message in the audit log", func() bool {
		return auditHas(t, e.dir+"/audit.log", "pat2@example.net", "deferred")
	})
	if len(e.gw.queue.List()) != 1 {
		t.Fatalf("the spool holds %d messages while the store is down, want the portal message", len(e.gw.queue.List()))
	}
	for _, m := range e.sink.Messages() {
		if slices.Contains(m.Rcpts, "pat2@example.net") {
			t.Fatal("something was delivered to the portal recipient while the store was down")
		}
	}
	pg.Start(t)
	msgs, err := e.sink.Wait(1, 60*time.Second)
	if err != nil {
		t.Fatalf("no portal notice after the store came back: %v", err)
	}
	if !slices.Contains(msgs[0].Rcpts, "pat2@example.net") || strings.Contains(string(msgs[0].Data), "All normal.") {
		t.Fatalf("after the store came back the recipient got %q, want the portal notice without the content", msgs[0].Data)
	}
}

// auditHas reports whether the audit log has a record for rcpt with the
// given result.
func auditHas(t *testing.T, path, rcpt, result string) bool {
	t.Helper()
	for _, line := range strings.Split(string(mustRead(t, path)), "\n") {
		var ev struct{ Rcpt, Result string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Rcpt == rcpt && ev.Result == result {
			return true
		}
	}
	return false
}
