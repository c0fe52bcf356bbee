package delivery

import (
	"testing"

	"github.com/sealgate/sealgate/internal/smtpsink"
)

// REQUIRETLS to an MX host needs the MX name itself to be trustworthy
// (RFC 8689 §4.2.1): a DNSSEC-validated MX answer (or an enforced MTA-STS
// policy, see TestMTASTSWithRequireTLS); a PKIX-valid certificate for an
// MX name that an attacker could have forged is not enough.
func TestRequireTLSNeedsAuthenticMX(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{true, false} {
		t.Run(map[bool]string{true: "signed", false: "unsigned"}[secure], func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, secure, true)
			_, sink := w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, "good", "mx1.partner.test"), RequireTLS: true})
			c := w.client(Config{})
			d := newDelivery("b@partner.test")
			d.RequireTLS = true
			out := deliver(t, c, d)
			if !secure {
				wantFail(t, out[0], true, "5.7.30")
				if sink.Count() != 0 {
					t.Error("REQUIRETLS message sent to an MX from an unsigned answer")
				}
				return
			}
			wantOK(t, out)
			if m := sink.Messages(); len(m) != 1 || !m[0].MailOpts.RequireTLS || !out[0].Verified {
				t.Errorf("sink got %+v, outcome %+v", m, out[0])
			}
		})
	}
}
