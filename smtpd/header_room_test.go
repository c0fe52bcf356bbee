package smtpd

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/mimelimit"
	"github.com/sealgate/sealgate/mailtext"
)

// A header at the shared limits (mimelimit.MaxHeaderFields fields, or
// mimelimit.MaxHeaderBytes bytes) must not be taken when the Received field
// smtpd adds would push it over them: every reader after smtpd (DKIM, the
// encryptor, the portal, delivery) would find the queued message unreadable,
// and mail answered 250 could never leave. Each message is either refused
// as too big or queued with a header that still reads; one well within the
// limits is queued.
func TestQueuedHeaderStaysWithinLimits(t *testing.T) {
	h := newHarness(t, nil)
	const top = "From: <lab@clinic.example.org>\r\nTo: <x@example.net>\r\nSubject: results\r\n"
	padTo := func(size int) string { // fields that bring the header section to size bytes
		var b strings.Builder
		for rest := size - len(top) - 2; rest > 0; { // 2: the empty line
			n := min(rest, 2000)
			if rest-n < 10 {
				n = rest - 10 // leave enough for one more field
			}
			if rest < 20 {
				n = rest
			}
			b.WriteString("X-Pad: " + strings.Repeat("p", n-9) + "\r\n")
			rest -= n
		}
		return b.String()
	}
	cases := []struct {
		name           string
		header         string
		fields, length int  // what the header section holds
		queued         bool // must be queued (well within the limits)
	}{
		{"fields at the limit", top + manyFields(mimelimit.MaxHeaderFields-3), mimelimit.MaxHeaderFields, 0, false},
		{"bytes at the limit", top + padTo(mimelimit.MaxHeaderBytes), 0, mimelimit.MaxHeaderBytes, false},
		{"fields well within", top + manyFields(mimelimit.MaxHeaderFields/2), mimelimit.MaxHeaderFields/2 + 3, 0, true},
		{"bytes well within", top + padTo(mimelimit.MaxHeaderBytes/2), 0, mimelimit.MaxHeaderBytes / 2, true},
	}
	for _, c := range cases {
		msg := []byte(c.header + "\r\nbody\r\n")
		hd, err := mailtext.ParseHeader(msg)
		if err != nil || c.fields != 0 && hd.Len() != c.fields || c.length != 0 && hd.BodyOffset() != c.length {
			t.Fatalf("%s: the test message itself: %d fields, %d bytes, %v", c.name, hd.Len(), hd.BodyOffset(), err)
		}
		before := h.q.count()
		_, err = h.srv.Submit(context.Background(), Submission{Client: "ehr", From: "lab@clinic.example.org",
			To: []string{"x@example.net"}, Body: msg})
		if err != nil {
			if reason, _, _, _ := Refusal(err); reason != "header_too_big" || c.queued {
				t.Errorf("%s: refused: %v (reason %q)", c.name, err, reason)
			}
			continue
		}
		if h.q.count() != before+1 {
			t.Fatalf("%s: accepted but not queued", c.name)
		}
		h.q.mu.Lock()
		queued := h.q.bodies[len(h.q.bodies)-1]
		h.q.mu.Unlock()
		if _, err := mailtext.ParseHeader(queued); err != nil {
			t.Errorf("%s: accepted, and the queued message's header does not read: %v", c.name, err)
		}
	}
}

// manyFields is n short header fields.
func manyFields(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "X-F-%d: v\r\n", i)
	}
	return b.String()
}
