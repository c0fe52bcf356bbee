package mimeutil

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
)

// TestHostileHeaders runs the shared table of hostile headers through
// Protect: each is refused with ErrMalformed, which quotes nothing, or, when
// its CRLF form reads (bare LF mended, a header without a body given its last
// line end), split so that the health information stays out of the clear
// outer header.
func TestHostileHeaders(t *testing.T) {
	refused := 0
	for _, c := range hostile.Headers() {
		p, err := Protect(c.Msg, "")
		switch {
		case errors.Is(err, ErrMalformed):
			refused++
			if bytes.Contains([]byte(err.Error()), []byte("Harriet")) {
				t.Errorf("%s: error quotes the message", c.Name)
			}
		case err != nil:
			t.Errorf("%s: %v", c.Name, err)
		case bytes.Contains(p.Message(nil, nil), []byte("Harriet")):
			t.Errorf("%s: health information in the outer header", c.Name)
		}
	}
	if want := len(hostile.Headers()) - 4; refused != want {
		t.Errorf("%d refused, want %d", refused, want)
	}
}
