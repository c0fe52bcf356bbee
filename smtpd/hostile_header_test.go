package smtpd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
)

// TestHostileHeadersRefused runs the shared table of hostile headers through
// both ways in, the API's Submit and a real SMTP transaction on loopback:
// each message is refused for how its header reads (or, over SMTP, for a
// bare line ending or an over-long line before that), and nothing is queued.
func TestHostileHeadersRefused(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range hostile.Headers() {
		_, err := h.srv.Submit(context.Background(), Submission{Client: "ehr", From: "lab@clinic.example.org",
			To: []string{"x@example.net"}, Body: c.Msg})
		reason, code, _, ok := Refusal(err)
		if !ok || code < 500 || !map[string]bool{"bad_message": true, "header_too_big": true, "bare_newline": true}[reason] {
			t.Errorf("%s: Submit: %v (reason %q, code %d)", c.Name, err, reason, code)
		}
		if !bytes.HasSuffix(c.Msg, []byte("\r\n")) || bytes.Contains(c.Msg, []byte("\n.")) {
			continue // over SMTP, DATA ends the last line itself
		}
		r := dialRaw(t, h.relay)
		r.send("EHLO client.test\r\n")
		r.expect("250")
		r.send("MAIL FROM:<lab@clinic.example.org>\r\nRCPT TO:<x@example.net>\r\nDATA\r\n")
		r.expect("250")
		r.expect("250")
		r.expect("354")
		r.send(string(c.Msg) + ".\r\n")
		if line, err := r.reply(); err == nil && !strings.HasPrefix(line, "5") {
			t.Errorf("%s: DATA answered %q", c.Name, line)
		}
		r.c.Close()
	}
	if n := h.q.count(); n != 0 {
		t.Errorf("%d hostile messages queued", n)
	}
}
