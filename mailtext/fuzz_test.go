package mailtext

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"

	"github.com/sealgate/sealgate/internal/mimelimit"
)

// FuzzParseHeader checks the one header parser on any input: it never
// panics, stays within its limits, agrees with SplitHeader on where a CRLF
// message's body starts, and reads the same fields with the same values as
// go-message's reader whenever it reads a header at all, so no reader that
// builds on either sees a field the other missed.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		"From: a@b.example\r\nSubject: x\r\n\r\nbody",
		"From: a\nSubject: b\n c\n\nbody\n",
		"From: a\r\nBcc: b\nTo: c\r\n\r\n",
		"From: a\r\nX: a\rBcc: b\r\n\r\n",
		"X: a\x00b\r\n\r\n",
		" X: a\r\n\r\n",
		": x\r\n\r\n",
		"X: a\r\n b",
		"Subject : spaced\r\n\t folded\r\n\r\n",
		"\r\n\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := ParseHeader(msg)
		lead := LeadingFields(msg)
		if !bytes.HasPrefix(msg, lead) {
			t.Fatalf("LeadingFields is not a prefix")
		}
		if err != nil {
			if !errors.Is(err, ErrHeader) || h.Len() != 0 {
				t.Fatalf("error %v with %d fields", err, h.Len())
			}
			return
		}
		checkParsed(t, msg, &h, lead)
		want, werr := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg)))
		if werr != nil {
			t.Fatalf("ParseHeader read what go-message refuses: %v", werr)
		}
		if keys(h.Textproto()) != keys(want) {
			t.Fatalf("fields %s, go-message %s", keys(h.Textproto()), keys(want))
		}
		i := 0
		for f := want.Fields(); f.Next(); i++ {
			if strings.Join(strings.Fields(h.Value(i)), " ") != strings.Join(strings.Fields(f.Value()), " ") {
				t.Fatalf("field %d: %q, go-message %q", i, h.Value(i), f.Value())
			}
		}
	})
}

// checkParsed checks what ParseHeader returned for msg against its contract.
func checkParsed(t *testing.T, msg []byte, h *Header, lead []byte) {
	t.Helper()
	if h.BodyOffset() > mimelimit.MaxHeaderBytes || h.Len() > mimelimit.MaxHeaderFields {
		t.Fatalf("over the limits: body at %d, %d fields", h.BodyOffset(), h.Len())
	}
	var raw []byte
	for i := range h.Len() {
		raw = append(raw, h.Raw(i)...)
		if strings.ContainsAny(h.Value(i), "\r\n\x00") {
			t.Fatalf("value %q", h.Value(i))
		}
	}
	if !bytes.Equal(raw, lead) || !bytes.Equal(h.Fields(), raw) || !bytes.HasPrefix(h.Section(), raw) || len(h.Section())-len(raw) > 2 {
		t.Fatalf("fields %q, leading %q, section %q", raw, lead, h.Section())
	}
	if !bytes.Contains(msg, []byte("\n")) || bytes.Contains(bytes.ReplaceAll(msg[:h.BodyOffset()], []byte("\r\n"), nil), []byte("\n")) {
		return // the bare LF form: SplitHeader reads CRLF only
	}
	if head, _, ok := SplitHeader(msg); ok && len(h.Section()) > len(raw) && len(head) != h.BodyOffset() {
		t.Fatalf("SplitHeader ends the header at %d, ParseHeader at %d", len(head), h.BodyOffset())
	}
}

func readGoMessage(t *testing.T, msg []byte) textproto.Header {
	t.Helper()
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// keys lists a header's field names in order.
func keys(h textproto.Header) string {
	var ks []string
	for f := h.Fields(); f.Next(); {
		ks = append(ks, f.Key())
	}
	return strings.Join(ks, ",")
}
