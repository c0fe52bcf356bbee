package addr

import (
	"strings"
	"testing"
)

func TestHostName(t *testing.T) {
	for _, ok := range []string{"example.org", "mx1.partner.test.", "sel2024._domainkey.clinic.example", "gw", "A-1.Example.ORG",
		strings.Repeat("a", 63) + ".test"} {
		if !HostName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", ".", "..", "../etc", "a..b", ".a", "a/b", "-a.test", "a-.test", "a b", "bücher.test",
		strings.Repeat("a", 64) + ".test", strings.Repeat("a.", 127) + "ab", "x.test..", "a\x00b"} {
		if HostName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
