package queue

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
)

// Regression: a deferral was logged as "code=0" with no reason. The log
// line names the reason and the enhanced code, with no address in it.
func TestDeferralLoggedWithReason(t *testing.T) {
	t.Parallel()
	var logs testenv.Buffer
	fail := errors.New("delivery: temporary failure at connect to mx.example.net: connection refused for <dr@example.net>\r\ninjected")
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		return []mail.Outcome{{Rcpt: d.Rcpts[0].Addr, Err: fail, Enhanced: "4.4.1"}}
	}}
	q := startQueue(t, t.TempDir(), c, func(cfg *Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if _, err := q.Enqueue(t.Context(), env("dr@example.net"), testMsg()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a deferral", func() bool { return strings.Contains(logs.String(), "result=deferred") })
	got := logs.String()
	line := got[strings.Index(got, "result=deferred"):]
	line = line[:strings.IndexByte(line, '\n')]
	if strings.Contains(line, "code=0") || !strings.Contains(line, "enhanced=4.4.1") ||
		!strings.Contains(line, `reason="delivery: temporary failure at connect to mx.example.net: connection refused for [address] injected"`) {
		t.Errorf("deferral log line: %s", line)
	}
	if strings.Contains(got, "dr@example.net") || strings.Contains(got, "\ninjected") {
		t.Errorf("log carries an address or a forged line:\n%s", got)
	}
}
