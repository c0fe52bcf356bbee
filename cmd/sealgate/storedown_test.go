package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/store"
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
	testenv.WaitFor(t, 30*time.Second, "the audit record of the PHI message delivered with method tls", func() bool {
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

// TestStoreDownSuppressionsKept: a hard bounce of campaign mail, an ARF
// complaint (to the feedback address, naming its recipient by the quoted
// one-click link) and an unsubscribe that come while the shared
// PostgreSQL store is down are not lost: each is kept in a file of its
// own (0600) under <data_dir>/suppressions-pending — a repeat adds none —
// a pending address is refused at RCPT (550 5.7.1, not 451) though the
// store cannot be read, and once the database is back the running
// gateway puts them on the list, audits them and removes the files.
func TestStoreDownSuppressionsKept(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartCluster(t)
	var bounceNow atomic.Bool
	e := newCampaignEnvSink(t, "store: \""+pgtest.NewDB(t, pg.URL)+"\"\n"+bouncesYAML,
		smtpsink.Options{RcptReply: func(rcpt string) *smtp.SMTPError {
			if rcpt != "moved@example.net" {
				return nil
			}
			if bounceNow.Load() {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}})
	if err := e.send("news", "news@clinic.example.org", "moved@example.net", campaignMessage("b1@clinic", "moved@example.net")); err != nil {
		t.Fatal(err)
	}
	pending := filepath.Join(e.gw.cfg.DataDir, pendingDir)
	pg.Stop(t)
	bounceNow.Store(true) // the next retry is refused for good
	testenv.WaitFor(t, 20*time.Second, "the hard bounce kept on disk", func() bool { return len(pendingFiles(t, pending)) == 1 })

	tokens, err := unsubscribeTokens(e.gw.cfg)
	if err != nil {
		t.Fatal(err)
	}
	link := "<https://localhost:8443/u/" + tokens.Make("clinic.example.org", "annoyed@example.net") + ">"
	complaint := arfQuoting("From: news@clinic.example.org\r\nTo: annoyed@example.net\r\nList-Unsubscribe: "+link+"\r\nSubject: Flu shots", "")
	if err := sendReport(e.gw.bounces.Addr().String(), "fbl@bounce.clinic.example.org", complaint); err != nil {
		t.Fatalf("complaint with the store down: %v, want it taken", err)
	}
	unsub, err := e.gw.unsubscriber()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // as a mailbox provider repeating its one-click POST
		if err := unsub.Unsubscribe(t.Context(), "clinic.example.org", "Pat@example.net", "192.0.2.7"); err != nil {
			t.Fatalf("unsubscribe with the store down: %v", err)
		}
	}
	files := pendingFiles(t, pending)
	if len(files) != 3 {
		t.Fatalf("%d pending files, want 3 (bounce, complaint, unsubscribe)", len(files))
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("pending file %s: %v, want mode 0600", f, err)
		}
	}
	for _, to := range []string{"moved@example.net", "annoyed@example.net", "PAT@example.net"} {
		if err := e.send("news", "news@clinic.example.org", to, campaignMessage("again@clinic", to)); !isSuppressedReply(err) {
			t.Fatalf("store down, marketing RCPT to pending %s: %v, want 550 5.7.1", to, err)
		}
	}
	if err := e.send("news", "news@clinic.example.org", "sam@example.net", campaignMessage("sam@clinic", "sam@example.net")); !isTempStoreReply(err) {
		t.Fatalf("store down, marketing RCPT to another address: %v, want 451 4.3.0", err)
	}
	wantMetricLines(t, e.env, "sealgate_suppressions_pending 3")
	if got := suppressionEvents(t, filepath.Join(e.dir, "audit.log")); len(got) != 0 {
		t.Fatalf("audited before the store took them: %q", got)
	}

	pg.Start(t)
	testenv.WaitFor(t, 60*time.Second, "the pending suppressions applied", func() bool { return len(pendingFiles(t, pending)) == 0 })
	want := map[string]string{"clinic.example.org moved@example.net": store.ReasonHardBounce,
		"clinic.example.org annoyed@example.net": store.ReasonComplaint, "clinic.example.org pat@example.net": store.ReasonUnsubscribe}
	if got := suppressedList(t, e.path); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("suppressed %v, want %v", got, want)
	}
	wantAudit := []string{"bounce clinic.example.org moved@example.net hard_bounce system",
		"complaint clinic.example.org annoyed@example.net complaint system",
		"unsubscribe clinic.example.org pat@example.net unsubscribe recipient"}
	if got := suppressionEvents(t, filepath.Join(e.dir, "audit.log")); !slices.Equal(got, wantAudit) {
		t.Fatalf("audit: %q, want %q", got, wantAudit)
	}
	wantMetricLines(t, e.env, "sealgate_suppressions_pending 0")
}

// pendingFiles lists the pending suppression files in dir.
func pendingFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
