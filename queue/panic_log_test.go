package queue

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
)

// A courier that panics with a value quoting the message: the queue
// quarantines it and logs the panic by kind, never its value.
func TestPanicValueQuotingMessageNotLogged(t *testing.T) {
	t.Parallel()
	var logs testenv.Buffer
	c := &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome {
		panic(fmt.Sprintf("bad part in %s for %s", d.Body, d.Rcpts[0].Addr))
	}}
	q := startQueue(t, t.TempDir(), c, func(cfg *Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if _, err := q.Enqueue(context.Background(), env("dr@example.net"), testMsg()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "quarantine", func() bool { return len(q.List()) == 0 })
	waitFor(t, "the quarantine log line", func() bool { return strings.Contains(logs.String(), "queue entry quarantined") })
	got := logs.String()
	if !strings.Contains(got, "panic in delivery") {
		t.Fatalf("no panic log line:\n%s", got)
	}
	for _, phi := range []string{"PAT-SECRET-7731", "dr@example.net"} {
		if strings.Contains(got, phi) {
			t.Errorf("log carries %q:\n%s", phi, got)
		}
	}
}
