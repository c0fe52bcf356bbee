package mailtext_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
	"github.com/sealgate/sealgate/mailtext"
)

// TestHostileHeaders runs the shared table through the parser: each message
// is refused with its own reason, and what a DSN would return of it stops
// before the health information.
func TestHostileHeaders(t *testing.T) {
	for _, c := range hostile.Headers() {
		h, err := mailtext.ParseHeader(c.Msg)
		if !errors.Is(err, c.Err) || h.Len() != 0 || h.BodyOffset() != 0 {
			t.Errorf("%s: %v, %d fields; want %v", c.Name, err, h.Len(), c.Err)
		}
		if bytes.Contains(mailtext.LeadingFields(c.Msg), []byte("Harriet")) && c.Name != "folded line without end" {
			t.Errorf("%s: the leading fields reach the body", c.Name)
		}
	}
}
