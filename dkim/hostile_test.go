package dkim

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
	"github.com/sealgate/sealgate/mailtext"
)

// TestHostileHeaders runs the shared table of hostile headers through the
// signer, From set to a domain it has a key for. Sign makes line endings
// CRLF first (what goes on the wire); a header that then reads is signed
// and verifies, any other is refused with ErrMalformed, which quotes
// nothing of the message.
func TestHostileHeaders(t *testing.T) {
	f := getFixture(t)
	signed := 0
	for _, c := range hostile.Headers() {
		msg := bytes.ReplaceAll(c.Msg, []byte("amy@clinic.example"), []byte("billing@example-clinic.org"))
		_, perr := mailtext.ParseHeader(mailtext.ToCRLF(msg))
		out, err := f.signer.Sign(msg)
		switch {
		case perr != nil:
			if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "Harriet") || out != nil {
				t.Errorf("%s: Sign = %v; want ErrMalformed", c.Name, err)
			}
		case err != nil:
			t.Errorf("%s: the CRLF form reads, yet Sign: %v", c.Name, err)
		default:
			signed++
			vs := f.verify(t, out)
			if len(vs) != 1 || vs[0].Err != nil {
				t.Errorf("%s: signed but does not verify: %+v", c.Name, vs)
			}
		}
	}
	if signed != 2 { // the two bare-LF cases, which CRLF mends
		t.Errorf("%d hostile messages signed, want 2", signed)
	}
}
