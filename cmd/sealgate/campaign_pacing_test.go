package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// A campaign paced by delivery.shaping (one a minute to the sink's
// provider: each message after the first would wait longer than max_wait,
// 2s) is held in the queue until its booked start without a delivery
// attempt being counted, while reminders sent after it go straight
// through: they are all delivered while the campaign still waits. The
// pace is slow enough that no machine load lets the campaign finish
// first; that a held message goes at its booked start is the queue's test
// (queue.TestPacedIsNotAnAttempt).
func TestCampaignPacingSparesReminders(t *testing.T) {
	e := newCampaignEnvDelivery(t, "", "  shaping: {enabled: true, per_minute: 1}\n", smtpsink.Options{})
	const nCampaign, nReminders = 4, 3
	for i := range nCampaign {
		to := fmt.Sprintf("member%d@example.net", i)
		if err := e.send("news", "news@clinic.example.org", to, campaignMessage(fmt.Sprintf("c%d@clinic.example.org", i), to)); err != nil {
			t.Fatalf("campaign message %d: %v", i, err)
		}
	}
	for i := range nReminders {
		to := fmt.Sprintf("patient%d@example.net", i)
		msg := fmt.Sprintf("From: Clinic <appointments@clinic.example.org>\r\nTo: %s\r\nSubject: Opening hours\r\n"+
			"Message-ID: <r%d@clinic.example.org>\r\n\r\nWe are open until 6 pm on Fridays.\r\n", to, i)
		if err := e.send("ehr", "appointments@clinic.example.org", to, msg); err != nil {
			t.Fatalf("reminder %d: %v", i, err)
		}
	}
	byKind := func() (campaign, reminders int) {
		for _, m := range e.sink.Messages() {
			if strings.HasPrefix(m.Rcpts[0], "patient") {
				reminders++
			} else {
				campaign++
			}
		}
		return campaign, reminders
	}
	testenv.WaitFor(t, 60*time.Second, "the reminders delivered and no attempt under way", func() bool {
		if _, r := byKind(); r != nReminders {
			return false
		}
		for _, info := range e.gw.queue.List() {
			if info.Running || info.Client != "news" {
				return false
			}
		}
		return true
	})
	if c, _ := byKind(); c > 1 {
		t.Fatalf("%d campaign messages delivered within a minute at one a minute: the campaign was not paced", c)
	}
	// The rest of the campaign waits in the queue for its booked starts,
	// with no attempt counted.
	waiting := 0
	for _, info := range e.gw.queue.List() {
		waiting++
		if info.State.Attempts != 0 || info.State.Rcpts[0].Attempts != 0 || !info.State.NextAttempt.After(time.Now()) {
			t.Errorf("paced campaign message %s: %d attempts (recipient %d), next attempt %v; want none counted and a booked start ahead",
				info.ID, info.State.Attempts, info.State.Rcpts[0].Attempts, info.State.NextAttempt)
		}
	}
	if c, _ := byKind(); waiting+c != nCampaign {
		t.Errorf("%d campaign messages waiting and %d delivered, want %d in all", waiting, c, nCampaign)
	}
	if paced := metricValue(t, scrape(t, e.env), "sealgate_queue_paced_total"); paced < 1 {
		t.Errorf("sealgate_queue_paced_total = %v: the campaign was never paced, the test proves nothing", paced)
	}
	for _, a := range deliveryAttempts(t, filepath.Join(e.dir, "audit.log")) {
		if a != 1 {
			t.Errorf("a delivery was audited as attempt %d; pacing must not count as an attempt (all %v)",
				a, deliveryAttempts(t, filepath.Join(e.dir, "audit.log")))
			break
		}
	}
}

// metricValue is the value of an unlabelled metric in a scrape.
func metricValue(t *testing.T, metrics, name string) float64 {
	t.Helper()
	for line := range strings.Lines(metrics) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

// deliveryAttempts are the attempt numbers of the audit log's delivery
// records.
func deliveryAttempts(t *testing.T, file string) []int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []int
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			Event   string `json:"event"`
			Attempt int    `json:"attempt"`
		}
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Event == "delivery" {
			out = append(out, r.Attempt)
		}
	}
	return out
}
