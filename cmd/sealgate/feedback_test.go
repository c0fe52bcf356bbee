package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/smtp"
	"net/textproto"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/dsn"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/store"
	"github.com/sealgate/sealgate/webhook"
)

const bouncesYAML = `bounces: {domain: bounce.clinic.example.org, listen: "127.0.0.1:0", feedback_address: fbl@bounce.clinic.example.org}
`

// deliverTo sends one campaign message to rcpt and returns the copy the
// receiving MTA got (whose envelope sender is the bounce address).
func (e *campaignEnv) deliverTo(t *testing.T, rcpt string) smtpsink.Message {
	t.Helper()
	before := e.sink.Count()
	if err := e.send("news", "news@clinic.example.org", rcpt, campaignMessage(rcpt+".id", rcpt)); err != nil {
		t.Fatalf("%s: %v", rcpt, err)
	}
	msgs, err := e.sink.Wait(before+1, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return msgs[len(msgs)-1]
}

// remoteDSN is the notification a receiving MTA writes when a message it
// accepted cannot be delivered after all (RFC 3464).
func remoteDSN(t *testing.T, m smtpsink.Message, action, status string) []byte {
	t.Helper()
	b, err := dsn.Build(dsn.Report{ReportingMTA: "mx.example.net", To: m.From, ArrivalDate: time.Now(), Original: m.Data,
		Delay: action == "delayed", Recipients: []dsn.Recipient{{Addr: m.Rcpts[0], Action: action, Status: status,
			RemoteMTA: "mbox.example.net", Diagnostic: "smtp; " + map[bool]string{true: "452", false: "550"}[status[0] == '4'] + " " + status + " mailbox trouble"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// arfReport is a complaint a mailbox provider's feedback loop sends
// (RFC 5965), quoting the header of the message as it was delivered, with
// the Return-Path the final delivery added.
func arfReport(m smtpsink.Message) []byte {
	head, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
	return arfQuoting("Return-Path: <"+m.From+">\r\n"+head, "")
}

// arfQuoting is an abuse report quoting header, with an
// Original-Mail-From field when omf is set.
func arfQuoting(header, omf string) []byte {
	if omf != "" {
		omf = "Original-Mail-From: <" + omf + ">\r\n"
	}
	return []byte("From: fbl@example.net\r\nTo: fbl@bounce.clinic.example.org\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"arf\"\r\n\r\n" +
		"--arf\r\nContent-Type: text/plain\r\n\r\nA recipient marked this message as spam.\r\n" +
		"--arf\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: ExampleFBL/1.0\r\nVersion: 1\r\n" + omf + "\r\n" +
		"--arf\r\nContent-Type: text/rfc822-headers\r\n\r\n" + header + "\r\n\r\n--arf--\r\n")
}

// sendReport hands a report to the bounce listener as a remote MTA does:
// null sender, the bounce address as recipient.
func sendReport(addr, rcpt string, report []byte) error {
	return sendFrom(addr, "", rcpt, report)
}

// sendFrom sends msg over SMTP without TLS from the envelope sender from
// to rcpt.
func sendFrom(addr, from, rcpt string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func suppressedList(t *testing.T, cfgPath string) map[string]string {
	t.Helper()
	code, out, errOut := runCLI("suppress", "list", "--json", "--config", cfgPath)
	var list []store.Suppression
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("suppress list: %d %s %s", code, out, errOut)
	}
	got := map[string]string{}
	for _, s := range list {
		got[s.Domain+" "+s.Address] = s.Reason
	}
	return got
}

// TestAsyncBounceAndComplaint: campaign mail leaves with a bounce address
// per recipient; the receiving MTA accepts it and later sends a DSN (RFC
// 3464) over SMTP to that address. A hard DSN suppresses the recipient for
// the sending domain, so the next campaign message is refused at RCPT; a
// delayed (soft) DSN suppresses nothing; an ARF complaint to the feedback
// address suppresses; forged and altered tokens are refused at RCPT. The
// reports are audited, and `sealgate stats` counts all of it.
func TestAsyncBounceAndComplaint(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t, bouncesYAML)
	bounceAt := e.gw.bounces.Addr().String()

	hard := e.deliverTo(t, "moved@example.net")
	if !strings.HasPrefix(hard.From, "bounces+") || !strings.HasSuffix(hard.From, "@bounce.clinic.example.org") {
		t.Fatalf("return path %q, want bounces+TOKEN@bounce.clinic.example.org", hard.From)
	}
	if err := sendReport(bounceAt, hard.From, remoteDSN(t, hard, "failed", "5.1.1")); err != nil {
		t.Fatalf("hard DSN: %v", err)
	}
	soft := e.deliverTo(t, "full@example.net")
	if err := sendReport(bounceAt, soft.From, remoteDSN(t, soft, "delayed", "4.2.2")); err != nil {
		t.Fatalf("soft DSN: %v", err)
	}
	spam := e.deliverTo(t, "annoyed@example.net")
	if err := sendReport(bounceAt, "fbl@bounce.clinic.example.org", arfReport(spam)); err != nil {
		t.Fatalf("ARF: %v", err)
	}

	want := map[string]string{"clinic.example.org moved@example.net": store.ReasonHardBounce,
		"clinic.example.org annoyed@example.net": store.ReasonComplaint}
	if got := suppressedList(t, e.path); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("suppressed %v, want %v", got, want)
	}
	for _, to := range []string{"moved@example.net", "annoyed@example.net"} {
		if err := e.send("news", "news@clinic.example.org", to, campaignMessage("again."+to, to)); !isSuppressedReply(err) {
			t.Fatalf("campaign mail to %s after its report: %v, want 550 5.7.1", to, err)
		}
	}
	if err := e.send("ehr", "reminders@clinic.example.org", "moved@example.net", campaignMessage("ehr.id", "moved@example.net")); err != nil {
		t.Fatalf("transactional mail to a suppressed address: %v", err)
	}
	e.deliverTo(t, "full@example.net") // a soft bounce suppresses nothing

	checkForgedTokens(t, bounceAt, hard.From)
	wantAudit := []string{"bounce clinic.example.org moved@example.net hard_bounce system",
		"complaint clinic.example.org annoyed@example.net complaint system"}
	if got := suppressionEvents(t, filepath.Join(e.dir, "audit.log")); !slices.Equal(got, wantAudit) {
		t.Fatalf("audit: %q, want %q", got, wantAudit)
	}
	// Sent: 3 + 1 (again full@) by the campaign client, 1 by the EHR; the
	// two refused at RCPT were not sent.
	wantStats := map[string]int64{stats.Sent: 5, stats.Delivered: 5, stats.BouncedHard: 1, stats.BouncedSoft: 1,
		stats.Complaints: 1, stats.Suppressed: 2, stats.Deferred: 0, stats.Unsubscribes: 0, stats.BouncedPolicy: 0}
	checkStats(t, e.path, "clinic.example.org", wantStats)
	// By destination provider: example.net is routed to a loopback
	// address, a provider of one domain, so it has no label of its own.
	// The DSNs count there too: the failed one as a hard bounce, the
	// delayed one as deferred.
	wantMetricLines(t, e.env, `sealgate_provider_complaints_total{provider="other"} 1`,
		`sealgate_provider_deliveries_total{provider="other",result="delivered"} 5`,
		`sealgate_provider_deliveries_total{provider="other",result="bounced_hard"} 1`,
		`sealgate_provider_deliveries_total{provider="other",result="deferred"} 1`)
}

// checkForgedTokens: an altered token, a made-up one, another domain and
// a plain address are all refused at RCPT with 550 5.1.1.
func checkForgedTokens(t *testing.T, at, good string) {
	t.Helper()
	local, domain, _ := strings.Cut(good, "@")
	flip := func(i int) string {
		b := []byte(local)
		b[i] = map[bool]byte{true: 'b', false: 'a'}[b[i] == 'a']
		return string(b) + "@" + domain
	}
	for _, rcpt := range []string{flip(len(local) - 1), flip(len("bounces+") + 5), "bounces+" + strings.Repeat("a", 39) + "@" + domain,
		local + "@bounce.other.example", "postmaster@" + domain, "victim@example.net"} {
		err := sendReport(at, rcpt, []byte("Subject: x\r\n\r\nx\r\n"))
		var tp *textproto.Error
		if !errors.As(err, &tp) || tp.Code != 550 || !strings.HasPrefix(tp.Msg, "5.1.1") {
			t.Errorf("RCPT %s: %v, want 550 5.1.1", rcpt, err)
		}
	}
}

// checkStats waits (bounded: the counts are written every few seconds)
// until `sealgate stats --json` shows want for domain.
func checkStats(t *testing.T, cfgPath, domain string, want map[string]int64) {
	t.Helper()
	testenv.WaitForState(t, 30*time.Second, "stats "+fmt.Sprint(want), func() (bool, string) {
		code, out, errOut := runCLI("stats", "--since", "1h", "--json", "--config", cfgPath)
		var ds []stats.Domain
		if code != 0 || json.Unmarshal([]byte(out), &ds) != nil {
			return false, errOut
		}
		for _, d := range ds {
			if d.Domain != domain {
				continue
			}
			for k, n := range want {
				if d.Counts[k] != n {
					return false, out
				}
			}
			return true, out
		}
		return false, out
	})
}

// TestAsyncReportWebhooks: a hard DSN and an ARF complaint that come back
// to the bounce listener raise a bounced and a complained event (async,
// with the queue ID of the message they report on and, for the DSN, its
// status code), signed like every event.
func TestAsyncReportWebhooks(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	recv := startHookReceiver(t, ca, "async-report-hook-secret")
	e := newCampaignEnv(t, bouncesYAML+recv.yaml(t, t.TempDir(), ca, "bounced, complained"))
	at := e.gw.bounces.Addr().String()
	gone := e.deliverTo(t, "gone@example.net")
	if err := sendReport(at, gone.From, remoteDSN(t, gone, "failed", "5.1.1")); err != nil {
		t.Fatal(err)
	}
	spam := e.deliverTo(t, "spam@example.net")
	if err := sendReport(at, spam.From, arfReport(spam)); err != nil {
		t.Fatal(err)
	}
	recv.waitEvents(t, 2, 30*time.Second)
	got := map[string]webhook.Event{}
	for _, b := range recv.received() {
		var ev webhook.Event
		json.Unmarshal(b, &ev)
		got[ev.Event] = ev
	}
	b, c := got["bounced"], got["complained"]
	if b.Recipient != "gone@example.net" || !b.Async || b.EnhancedCode != "5.1.1" || b.Code != 550 || b.QueueID == "" ||
		c.Recipient != "spam@example.net" || !c.Async || c.QueueID == "" || c.QueueID == b.QueueID || len(recv.received()) != 2 {
		t.Fatalf("events %q", recv.received())
	}
}

// TestComplaintTracing: a complaint to the feedback address whose quoted
// header has lost its Return-Path is traced through the message's
// one-click unsubscribe link, or through the report's Original-Mail-From;
// one that names nothing of this gateway (or a
// forged link) is taken (250) and suppresses nothing.
func TestComplaintTracing(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t, bouncesYAML)
	at := e.gw.bounces.Addr().String()
	m := e.deliverTo(t, "linked@example.net")
	head, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
	if !strings.Contains(head, "List-Unsubscribe: <https://localhost:8443/u/") {
		t.Fatalf("no unsubscribe link in\n%s", head)
	}
	if err := sendReport(at, "fbl@bounce.clinic.example.org", arfQuoting(head, "")); err != nil {
		t.Fatalf("ARF with the unsubscribe link only: %v", err)
	}
	o := e.deliverTo(t, "omf@example.net")
	if err := sendReport(at, "fbl@bounce.clinic.example.org", arfQuoting("Subject: Flu shots this week", o.From)); err != nil {
		t.Fatalf("ARF with Original-Mail-From only: %v", err)
	}
	for _, header := range []string{"Subject: Flu shots this week",
		"List-Unsubscribe: <https://localhost:8443/u/Y2xpbmljLmV4YW1wbGUub3JnCnNhbUBleGFtcGxlLm5ldA.AAAA>\r\nSubject: x"} {
		if err := sendReport(at, "fbl@bounce.clinic.example.org", arfQuoting(header, "")); err != nil {
			t.Fatalf("ARF naming nothing: %v", err)
		}
	}
	want := map[string]string{"clinic.example.org linked@example.net": store.ReasonComplaint,
		"clinic.example.org omf@example.net": store.ReasonComplaint}
	if got := suppressedList(t, e.path); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("suppressed %v, want %v", got, want)
	}
}
