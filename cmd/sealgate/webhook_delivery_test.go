package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/webhook"
)

// TestDeliveryWebhooks: one message to three recipients, which the
// receiving MTA takes, defers (452 4.2.2) and refuses (550 5.1.1), gives
// the loopback HTTPS receiver, signed: accepted for each recipient, then
// delivered, deferred and bounced with the reply codes, all under the
// message's queue ID, and nothing of its subject or body.
func TestDeliveryWebhooks(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	recv := startHookReceiver(t, ca, "delivery-hook-secret-01")
	e := newCampaignEnvSink(t, recv.yaml(t, t.TempDir(), ca, "accepted, delivered, deferred, bounced"),
		smtpsink.Options{RcptReply: func(rcpt string) *smtp.SMTPError {
			switch rcpt {
			case "full@example.net":
				return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
			case "gone@example.net":
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
			}
			return nil
		}})
	rcpts := []string{"pat@example.net", "full@example.net", "gone@example.net"}
	msg := "From: reminders@clinic.example.org\r\nTo: pat@example.net\r\nSubject: SECRET-SUBJECT\r\nMessage-ID: <hooks@clinic.example.org>\r\n\r\nSECRET-BODY\r\n"
	if err := e.sendTo("ehr", "reminders@clinic.example.org", rcpts, msg); err != nil {
		t.Fatal(err)
	}
	want := map[string]webhook.Event{
		"accepted pat@example.net": {}, "accepted full@example.net": {}, "accepted gone@example.net": {},
		"delivered pat@example.net": {Code: 250, EnhancedCode: "2.0.0"},
		"deferred full@example.net": {Code: 452, EnhancedCode: "4.2.2"},
		"bounced gone@example.net":  {Code: 550, EnhancedCode: "5.1.1"},
	}
	got := map[string]webhook.Event{}
	testenv.WaitForState(t, 30*time.Second, "an event of each kind for each recipient", func() (bool, string) {
		for _, b := range recv.received() {
			if strings.Contains(string(b), "SECRET") {
				t.Fatalf("an event carries the message's content: %s", b)
			}
			var ev webhook.Event
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			got[ev.Event+" "+ev.Recipient] = ev
		}
		for k := range want {
			if _, ok := got[k]; !ok {
				return false, fmt.Sprint(len(got), " kinds of event; none yet for ", k)
			}
		}
		return true, ""
	})
	qid := got["accepted pat@example.net"].QueueID
	for k, w := range want {
		g := got[k]
		if g.QueueID != qid || qid == "" || g.Code != w.Code || g.EnhancedCode != w.EnhancedCode || g.Async {
			t.Errorf("%s: %+v, want queue ID %s, code %d %s", k, g, qid, w.Code, w.EnhancedCode)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected event %s: %+v", k, got[k])
		}
	}
	if recv.bad != 0 {
		t.Errorf("%d events with a bad signature", recv.bad)
	}
}
