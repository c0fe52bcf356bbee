package smtpd

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// go-smtp writes the text of any error from NewSession that is not exactly
// *smtp.SMTPError to the client; a session refused for an internal reason
// gets the fixed internal-error reply.
func TestUnguardedSessionGetsFixedReply(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	sess, err := h.srv.newSession(&smtp.Conn{}, &h.srv.cfg.Listeners[0])
	if sess != nil || err == nil {
		t.Fatalf("session %v, error %v: want a refusal", sess, err)
	}
	se, ok := err.(*smtp.SMTPError)
	if !ok {
		t.Fatalf("error %T %q would be echoed verbatim", err, err)
	}
	if se.Code != 451 || strings.Contains(se.Message, "smtpd") || strings.Contains(se.Message, "guard") {
		t.Errorf("reply %d %q, want the fixed 451 internal error", se.Code, se.Message)
	}
}
