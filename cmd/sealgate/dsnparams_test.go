package main

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
)

// What the client asked for with DSN (RFC 3461) travels with the message
// to a next hop that offers DSN.
func TestDSNParametersTravel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{sink: smtpsink.Options{DSN: true}})
	sendWithDSN(t, e, "campaign-42", "dsn1@news.example.org", smtp.DSNNotifyFailure, smtp.DSNNotifyDelayed)
	msgs, err := e.sink.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.MailOpts == nil || m.MailOpts.Return != smtp.DSNReturnHeaders || m.MailOpts.EnvelopeID != "campaign-42" {
		t.Errorf("MAIL parameters at the next hop: %+v", m.MailOpts)
	}
	if len(m.RcptOpts) != 1 || m.RcptOpts[0] == nil || len(m.RcptOpts[0].Notify) != 2 ||
		m.RcptOpts[0].OriginalRecipient != "pat@example.net" {
		t.Errorf("RCPT parameters at the next hop: %+v", m.RcptOpts)
	}
}

// A client that asks for NOTIFY=SUCCESS gets exactly one success notice:
// from the next hop when it announces DSN (sealgate passes NOTIFY, ORCPT,
// RET and ENVID on and sends none itself), or sealgate's own "relayed"
// notice when the next hop has no DSN extension (RFC 3461 §4.2, §6.2).
func TestSuccessDSNOnce(t *testing.T) {
	t.Parallel()
	for _, withDSN := range []bool{true, false} {
		t.Run(map[bool]string{true: "next hop with DSN", false: "next hop without DSN"}[withDSN], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{sink: smtpsink.Options{DSN: withDSN}})
			sendNotifySuccess(t, e)
			if withDSN {
				m := waitMetricLines(t, e, `sealgate_deliveries_total{result="delivered",tls="TLS1.3"} 1`, "sealgate_queue_messages 0")
				if !hasMetricLine(m, "sealgate_queue_messages 0") || !hasMetricLine(m, "sealgate_dsn_total 0") {
					t.Fatalf("queue not drained, or a DSN of sealgate's own was queued:\n%s", grepLines(m, "sealgate_queue_messages", "sealgate_dsn_total"))
				}
				msgs := e.sink.Messages()
				if len(msgs) != 1 {
					t.Fatalf("next hop got %d messages, want the original only", len(msgs))
				}
				o := msgs[0].RcptOpts
				if len(o) != 1 || o[0] == nil || len(o[0].Notify) != 1 || o[0].Notify[0] != smtp.DSNNotifySuccess ||
					o[0].OriginalRecipient != "pat@example.net" {
					t.Fatalf("NOTIFY/ORCPT at the next hop: %+v", o)
				}
				if mo := msgs[0].MailOpts; mo == nil || mo.EnvelopeID != "ok-1" || mo.Return != smtp.DSNReturnHeaders {
					t.Fatalf("RET/ENVID at the next hop: %+v", mo)
				}
				return
			}
			msgs, err := e.sink.Wait(2, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var report []smtpsink.Message
			for _, m := range msgs {
				if len(m.RcptOpts) == 1 && m.RcptOpts[0] != nil && (len(m.RcptOpts[0].Notify) > 0 || m.RcptOpts[0].OriginalRecipient != "") {
					t.Errorf("DSN parameters sent to a next hop without DSN: %+v", m.RcptOpts[0])
				}
				if m.From == "" {
					report = append(report, m)
				}
			}
			if len(report) != 1 || len(report[0].Rcpts) != 1 || report[0].Rcpts[0] != "news@news.example.org" {
				t.Fatalf("want one report to the sender, got %d of %d messages", len(report), len(msgs))
			}
			body := string(report[0].Data)
			for _, want := range []string{"Action: relayed", "Status: 2.0.0", "Subject: Delivery report",
				"Original-Envelope-Id: ok-1", "Original-Recipient: rfc822; pat@example.net"} {
				if !strings.Contains(body, want) {
					t.Errorf("report lacks %q:\n%s", want, body)
				}
			}
			m := waitMetricLines(t, e, "sealgate_queue_messages 0", "sealgate_dsn_total 1")
			if !hasMetricLine(m, "sealgate_dsn_total 1") {
				t.Errorf("DSNs queued:\n%s", grepLines(m, "sealgate_dsn_total"))
			}
		})
	}
}

// sendNotifySuccess submits one message asking for a success notice.
func sendNotifySuccess(t *testing.T, e *env) {
	t.Helper()
	sendWithDSN(t, e, "ok-1", "ok1@news.example.org", smtp.DSNNotifySuccess)
}

// sendWithDSN submits, as the marketing client over STARTTLS, one message
// (Message-ID msgID) to pat@example.net with the DSN parameters RET=HDRS,
// ENVID=envID, ORCPT and NOTIFY=notify.
func sendWithDSN(t *testing.T, e *env, envID, msgID string, notify ...smtp.DSNNotify) {
	t.Helper()
	c, err := smtp.DialStartTLS(e.smtpAt, &tls.Config{RootCAs: e.ca.Pool(), ServerName: "gw.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "marketing", e2ePassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("news@news.example.org", &smtp.MailOptions{Return: smtp.DSNReturnHeaders, EnvelopeID: envID}); err != nil {
		t.Fatal(err)
	}
	rcpt := &smtp.RcptOptions{Notify: notify, OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "pat@example.net"}
	if err := c.Rcpt("pat@example.net", rcpt); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(newsMessage(msgID, "pat@example.net", "hello")))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// grepLines returns the lines of s that start with one of the prefixes.
func grepLines(s string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}
