package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/store"
)

// TestHardBounceSuppresses: the receiver answers 550 5.1.1 for unknown
// users and 550 5.7.1 (policy) for another address. A marketing message to
// the unknown user bounces hard and puts the address on the sending
// domain's list, so the next campaign message to it is refused at RCPT;
// the policy bounce and the transactional client's hard bounce suppress
// nothing; the failures are counted by class.
func TestHardBounceSuppresses(t *testing.T) {
	t.Parallel()
	e := newCampaignEnvSink(t, "", smtpsink.Options{RcptReply: func(rcpt string) *smtp.SMTPError {
		switch {
		case strings.HasPrefix(rcpt, "gone"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case strings.HasPrefix(rcpt, "picky"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender reputation"}
		}
		return nil
	}})
	for _, m := range []struct{ user, from, to string }{
		{"news", "news@clinic.example.org", "gone@example.net"},
		{"news", "news@clinic.example.org", "picky@example.net"},
		{"ehr", "reminders@clinic.example.org", "gone-too@example.net"},
	} {
		if err := e.send(m.user, m.from, m.to, campaignMessage(m.to+".id", m.to)); err != nil {
			t.Fatalf("%s: %v", m.to, err)
		}
	}
	// Wait (bounded) for the three bounces to be counted.
	lines := []string{`sealgate_delivery_failure_classes_total{class="hard"} 2`,
		`sealgate_delivery_failure_classes_total{class="policy"} 1`, `sealgate_delivery_failure_classes_total{class="tls"} 0`,
		`sealgate_provider_deliveries_total{provider="other",result="bounced_hard"} 2`,
		`sealgate_provider_deliveries_total{provider="other",result="bounced_policy"} 1`}
	metrics := waitMetricLines(t, e.env, lines...)
	for _, l := range lines {
		if !hasMetricLine(metrics, l) {
			t.Fatalf("metrics lack %s", l)
		}
	}
	code, out, errOut := runCLI("suppress", "list", "--json", "--config", e.path)
	var list []store.Suppression
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("list: %d %s %s", code, out, errOut)
	}
	if len(list) != 1 || list[0].Address != "gone@example.net" || list[0].Domain != "clinic.example.org" || list[0].Reason != store.ReasonHardBounce {
		t.Fatalf("suppressed: %+v, want only gone@example.net (hard_bounce)", list)
	}
	if err := e.send("news", "news@clinic.example.org", "gone@example.net", campaignMessage("again.id", "gone@example.net")); !isSuppressedReply(err) {
		t.Fatalf("campaign mail to a hard-bounced address: %v, want 550 5.7.1", err)
	}
	if err := e.send("news", "news@clinic.example.org", "picky@example.net", campaignMessage("again2.id", "picky@example.net")); err != nil {
		t.Fatalf("a policy bounce suppressed the address: %v", err)
	}
	want := []string{"bounce clinic.example.org gone@example.net hard_bounce system"}
	if got := suppressionEvents(t, filepath.Join(e.dir, "audit.log")); !slices.Equal(got, want) {
		t.Fatalf("audit: %q, want %q", got, want)
	}
}
