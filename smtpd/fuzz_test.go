package smtpd

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/sealgate/sealgate/mailtext"
)

// hasBareLineEnding is the reference: a CR not followed by LF, or an LF not
// preceded by CR.
func hasBareLineEnding(b []byte) bool {
	for i, c := range b {
		if c == '\r' && (i+1 >= len(b) || b[i+1] != '\n') {
			return true
		}
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// FuzzClientInput feeds arbitrary client bytes to the readers of DATA and
// the command stream, in odd-sized reads, and checks them against the
// reference, and the header checks never panic.
func FuzzClientInput(f *testing.F) {
	for _, s := range []string{
		"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n",
		"line\nbare\r\n", "a\rb\r\n", "\r\n.\r\n", "tail\r",
		"Subject: [secure] x\r\n y\r\n\r\n", "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want := hasBareLineEnding(in)
		_, err := io.ReadAll(&crlfReader{r: iotest.OneByteReader(bytes.NewReader(in))})
		if got := errors.Is(err, errBareLineEnding); got != want {
			t.Fatalf("crlfReader on %q: bare=%v, want %v", in, got, want)
		}
		g := &guardConn{}
		if got := g.scan(in); got && !want {
			t.Fatalf("guard scan flagged clean input %q", in)
		}
		s := &session{client: &Client{AllowedSenders: []string{"*@b.example"}}}
		checked, err := s.checkHeaders(in)
		h, perr := mailtext.ParseHeader(in)
		if (err == errBadMessage || err == errHeaderTooBig) != (perr != nil || !hasRoom(&h)) || checked.Len() != h.Len() {
			t.Fatalf("header check %v, parser %v", err, perr)
		}
		if perr != nil || !hasRoom(&h) {
			return
		}
		out := stripSubjectTag(in, &h, "[secure]")
		if !want && hasBareLineEnding(out) {
			t.Fatalf("stripSubjectTag introduced a bare line ending: %q", out)
		}
	})
}
