package dsn

import (
	"bytes"
	"testing"

	"github.com/sealgate/sealgate/mailtext"
)

// FuzzBuild feeds hostile outside text (remote reply, ORCPT, ENVID and the
// original message) into Build: the notification must always parse back
// with three parts, keep its fixed Subject and CRLF line endings, and in
// HDRS mode never return what follows the original's header section.
func FuzzBuild(f *testing.F) {
	f.Add("smtp; 550 5.1.1 unknown", "rfc822;a@b.example", "env", []byte(originalMsg), false)
	f.Add("550 x\r\nSubject: y", "x\x00y", "e\r\n", []byte("A: b\nbody"), true)
	f.Fuzz(func(t *testing.T, diag, orcpt, envID string, original []byte, full bool) {
		r := baseReport()
		r.Recipients[0].Diagnostic, r.Recipients[0].ORCPT, r.EnvID = diag, orcpt, envID
		r.Original = original
		if full {
			r.Ret = "FULL"
		}
		raw, err := Build(r)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		p := parse(t, raw)
		if len(p.types) != 3 || p.header.Get("Subject") != "Undelivered mail" || len(p.perRcpts) != 2 {
			t.Fatalf("parts %v, subject %q, %d recipient groups", p.types, p.header.Get("Subject"), len(p.perRcpts))
		}
		if !full && !bytes.Equal(p.bodies[2], mailtext.LeadingFields(crlf(original))) {
			t.Fatalf("HDRS returned %q", p.bodies[2])
		}
	})
}
