package dsn

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
	"github.com/sealgate/sealgate/mailtext"
)

// TestHostileHeaders runs the shared table of hostile headers through Build
// as the returned original: the notification is always built (its sender
// must learn the outcome) with its three parts; in HDRS mode it returns the
// fields the one header parser reads before the fault and nothing of what
// follows, so the health information in the body never comes back.
func TestHostileHeaders(t *testing.T) {
	for _, c := range hostile.Headers() {
		for _, ret := range []string{"HDRS", "FULL"} {
			r := baseReport()
			r.Original, r.Ret = c.Msg, ret
			raw, err := Build(r)
			if err != nil {
				t.Errorf("%s, %s: Build: %v", c.Name, ret, err)
				continue
			}
			p := parse(t, raw)
			if len(p.types) != 3 {
				t.Errorf("%s, %s: parts %v", c.Name, ret, p.types)
				continue
			}
			if ret == "FULL" {
				continue
			}
			if !bytes.Equal(p.bodies[2], mailtext.LeadingFields(crlf(c.Msg))) {
				t.Errorf("%s: returned %q", c.Name, p.bodies[2])
			}
			inField := strings.HasSuffix(c.Name, "without end") // PHI written into a field of its own
			if !inField && bytes.Contains(raw, []byte("Harriet")) {
				t.Errorf("%s: the body came back in HDRS mode", c.Name)
			}
		}
	}
}
