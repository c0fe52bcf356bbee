package smtpd

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/testenv"
)

// quotingPanicPolicy panics with a value that quotes the message, as a
// bug in a detector or parser might.
type quotingPanicPolicy struct{}

func (quotingPanicPolicy) Check(_ context.Context, body []byte, in PolicyInput) (Verdict, error) {
	panic(fmt.Sprintf("cannot scan %q for %v", body, in.Recipients))
}

// A recovered panic is logged by kind only: its value can carry the
// subject, body or recipients of the message being handled.
func TestPanicValueNotLogged(t *testing.T) {
	t.Parallel()
	var logs testenv.Buffer
	h := newHarness(t, func(c *Config) {
		c.Policy = quotingPanicPolicy{}
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	r := relayHello(t, h)
	r.send("DATA\r\n")
	r.expect("354")
	r.send("From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: HIV result Jane Doe\r\n\r\nviral load\r\n.\r\n")
	reply := r.expect("421")
	r.closed()
	got := logs.String()
	if !strings.Contains(got, "panic in SMTP command") {
		t.Fatalf("no panic log line:\n%s", got)
	}
	for _, phi := range []string{"HIV result", "Jane Doe", "viral load", "dr@example.net"} {
		if strings.Contains(got, phi) {
			t.Errorf("log carries %q:\n%s", phi, got)
		}
		if strings.Contains(reply, phi) {
			t.Errorf("reply carries %q: %q", phi, reply)
		}
	}
}

func TestPanicTextKeepsRuntimeErrors(t *testing.T) {
	t.Parallel()
	var got string
	func() {
		defer func() { got = panicText(recover()) }()
		var s []int
		_ = s[3]
	}()
	if !strings.Contains(got, "index out of range") {
		t.Errorf("panicText = %q, want the runtime error", got)
	}
	if got := panicText("jane@patient.test"); got != "string" {
		t.Errorf("panicText of a string = %q, want its type only", got)
	}
}
