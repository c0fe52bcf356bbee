package main

import (
	"bytes"
	"fmt"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/stats"
)

var mailtoRE = regexp.MustCompile(`<mailto:([^?>]+)\?subject=([^>]+)>`)

// TestMailtoUnsubscribe: with bounces.domain set, the List-Unsubscribe
// mailto of a marketing message names an address the gateway's bounce
// listener reads. A mail client's request to it, the link's subject as it
// is, suppresses the recipient for the sending domain (audited, counted),
// so the next campaign message is refused at RCPT while a transactional
// one still goes; a request with a forged token is taken and changes
// nothing.
func TestMailtoUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t, bouncesYAML+`portal: {base_url: "https://localhost:8443", unsubscribe_mailto: "unsubscribe@bounce.clinic.example.org"}
`)
	at := e.gw.bounces.Addr().String()
	got := e.deliverTo(t, "pat@example.net")
	msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	m := mailtoRE.FindStringSubmatch(msg.Header.Get("List-Unsubscribe"))
	if m == nil || m[1] != "unsubscribe@bounce.clinic.example.org" {
		t.Fatalf("List-Unsubscribe %q names no mailto on the bounce domain", msg.Header.Get("List-Unsubscribe"))
	}
	subject, err := url.PathUnescape(m[2])
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimPrefix(subject, "unsubscribe ")
	forged := "unsubscribe " + b64("clinic.example.org\nsam@example.net") + token[strings.Index(token, "."):]
	for _, s := range []string{forged, "unsubscribe", "please take me off"} {
		if err := sendMailtoRequest(at, "sam@example.net", m[1], s); err != nil {
			t.Fatalf("request %q: %v, want 250", s, err)
		}
	}
	if err := e.send("news", "news@clinic.example.org", "sam@example.net", campaignMessage("sam.id", "sam@example.net")); err != nil {
		t.Fatalf("a forged mailto request took effect: %v", err)
	}

	if err := sendMailtoRequest(at, "pat@example.net", m[1], subject); err != nil {
		t.Fatalf("mailto request: %v", err)
	}
	if err := e.send("news", "news@clinic.example.org", "pat@example.net", campaignMessage("again.id", "pat@example.net")); !isSuppressedReply(err) {
		t.Fatalf("campaign mail after a mailto unsubscribe: %v, want 550 5.7.1", err)
	}
	if err := e.send("ehr", "reminders@clinic.example.org", "pat@example.net", campaignMessage("ehr.id", "pat@example.net")); err != nil {
		t.Fatalf("transactional mail after a mailto unsubscribe: %v", err)
	}
	want := []string{"unsubscribe clinic.example.org pat@example.net unsubscribe recipient"}
	if got := suppressionEvents(t, filepath.Join(e.dir, "audit.log")); !slices.Equal(got, want) {
		t.Fatalf("audit: %q, want %q", got, want)
	}
	checkStats(t, e.path, "clinic.example.org", map[string]int64{stats.Unsubscribes: 1, stats.Suppressed: 1, stats.Complaints: 0})
}

// sendMailtoRequest sends what a mail client sends for a List-Unsubscribe
// mailto: a short message from the recipient with the link's subject.
func sendMailtoRequest(addr, from, to, subject string) error {
	msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%d.mailto@example.net>\r\n\r\nThis message was sent to unsubscribe.\r\n",
		from, to, subject, len(subject))
	return sendFrom(addr, from, to, []byte(msg))
}
