package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TestCampaignThroughputVERP measures what VERP costs a campaign: the same
// number of marketing messages (one recipient each) through the whole
// gateway — STARTTLS in, policy, spool, one-click unsubscribe, verified TLS
// out to a loopback sink — without and with bounces.domain, and logs the
// messages per second. A measurement, not a feature test: it runs only
// with SEALGATE_BENCH_CAMPAIGN=N (messages per run), e.g.
//
//	SEALGATE_BENCH_CAMPAIGN=2000 go test ./cmd/sealgate -run TestCampaignThroughputVERP -v
func TestCampaignThroughputVERP(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SEALGATE_BENCH_CAMPAIGN"))
	if n <= 0 {
		t.Skip("set SEALGATE_BENCH_CAMPAIGN=N to measure")
	}
	for _, run := range []struct{ name, extra string }{{"plain", ""}, {"verp", bouncesYAML}, {"plain again", ""}, {"verp again", bouncesYAML}} {
		e := newCampaignEnv(t, run.extra)
		start := time.Now()
		e.campaign(t, n, 8)
		msgs, err := e.sink.Wait(n, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		verp := 0
		for _, m := range msgs {
			if strings.HasPrefix(m.From, "bounces+") {
				verp++
			}
		}
		if want := map[bool]int{true: n, false: 0}[run.extra != ""]; verp != want {
			t.Fatalf("%s: %d of %d with a bounce address, want %d", run.name, verp, n, want)
		}
		t.Logf("%-12s %d messages in %v: %.0f msg/s", run.name, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	}
}

// campaign submits n messages from the campaign client over workers
// sessions, many transactions per session.
func (e *campaignEnv) campaign(t *testing.T, n, workers int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.DialStartTLS(e.smtpAt, &tls.Config{RootCAs: e.ca.Pool(), ServerName: "gw.example.org"})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Auth(sasl.NewPlainClient("", "news", e2ePassword)); err != nil {
				errs <- err
				return
			}
			for i := w; i < n; i += workers {
				to := fmt.Sprintf("p%d@example.net", i)
				if err := c.SendMail("news@clinic.example.org", []string{to}, strings.NewReader(campaignMessage(fmt.Sprintf("c%d@clinic", i), to))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
