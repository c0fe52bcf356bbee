package main

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

func TestReadyzFollowsLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	url := "http://" + e.gw.metrics.Addr().String() + "/readyz"
	get := func() int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("running gateway: readyz %d", code)
	}
	// Shutting down: the queue and SMTP stop, readiness goes first. The
	// metrics listener closes last, so ask before it does.
	e.gw.ready.Store(false)
	if code := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("draining gateway: readyz %d, want 503", code)
	}
}

// Below queue.min_free the gateway is not ready, /readyz says why, and new
// mail is answered 452 4.3.1 while the process keeps running.
func TestReadyzSaysWhySpoolCannotTakeMail(t *testing.T) {
	t.Parallel()
	// More free space than any test machine has: always below the floor.
	e := newEnv(t, envOpts{extra: "queue: {min_free: 4000000GiB}\n"})
	resp, err := http.Get("http://" + e.gw.metrics.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "queue.min_free") {
		t.Fatalf("readyz below the floor: %d %q, want 503 naming queue.min_free", resp.StatusCode, body)
	}
	err = submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"a@example.net"},
		newsMessage("floor@news.example.org", "a@example.net", "hello"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 452 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) {
		t.Fatalf("message below the floor: %v, want 452 4.3.1", err)
	}
	if !hasMetricLine(scrape(t, e), `sealgate_messages_rejected_total{reason="insufficient_storage"} 1`) {
		t.Error("the refusal is not counted as insufficient_storage")
	}
}
