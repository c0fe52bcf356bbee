package box

import (
	"errors"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
)

// TestHostileHeaders runs the shared table of hostile headers through the
// portal's parser: each is refused with ErrMalformed, which quotes nothing
// of the message.
func TestHostileHeaders(t *testing.T) {
	for _, c := range hostile.Headers() {
		_, err := Parse(c.Msg)
		if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "Harriet") {
			t.Errorf("%s: Parse = %v; want ErrMalformed", c.Name, err)
		}
	}
}
