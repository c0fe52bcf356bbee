package mailtext

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/sealgate/sealgate/internal/mimelimit"
)

func TestParseHeader(t *testing.T) {
	msg := []byte("From: Amy <a@b.example>\r\nsubject : Lab\r\n  results\r\nReceived: x\r\nReceived: y\r\n\r\nbody\r\n\r\nX: not a field\r\n")
	h, err := ParseHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	if h.Len() != 4 || h.BodyOffset() != strings.Index(string(msg), "body") {
		t.Fatalf("Len %d, BodyOffset %d", h.Len(), h.BodyOffset())
	}
	if got := h.Get("SUBJECT"); got != "Lab  results" {
		t.Errorf("Get(SUBJECT) = %q", got)
	}
	if h.Name(1) != "subject" || h.Key(1) != "Subject" || string(h.Raw(1)) != "subject : Lab\r\n  results\r\n" {
		t.Errorf("field 1: name %q key %q raw %q", h.Name(1), h.Key(1), h.Raw(1))
	}
	if s, e := h.ValueSpan(1); string(msg[s:e]) != " Lab\r\n  results" {
		t.Errorf("ValueSpan = %q", msg[s:e])
	}
	if v := h.Values("received"); len(v) != 2 || v[0] != "x" || v[1] != "y" || h.Count("Received") != 2 {
		t.Errorf("Values(received) = %q", v)
	}
	if h.Index("X") != -1 || h.Get("X") != "" || h.Count("Bcc") != 0 {
		t.Error("a field from the body was indexed")
	}
	if string(h.Fields())+"\r\n" != string(h.Section()) {
		t.Errorf("Fields = %q", h.Fields())
	}
	if string(h.Section()) != string(msg[:h.BodyOffset()]) || !strings.HasSuffix(string(h.Section()), "\r\n\r\n") {
		t.Errorf("Section = %q", h.Section())
	}
}

func TestParseHeaderShapes(t *testing.T) {
	cases := []struct {
		name, in string
		fields   int
		body     int // BodyOffset
	}{
		{"no fields", "\r\nbody", 0, 2},
		{"empty message", "", 0, 0},
		{"header only", "From: a\r\nTo: b\r\n", 2, 16},
		{"LF throughout", "From: a\nSubject: b\n c\n\nbody\n", 2, 23},
		{"empty value", "X-Empty:\r\n\r\n", 1, 12},
		{"8-bit value", "Subject: Grüße\r\n\r\n", 1, 20},
		{"longest line", "X: " + strings.Repeat("a", mimelimit.MaxHeaderLineBytes-3) + "\r\n\r\n", 1, mimelimit.MaxHeaderLineBytes + 4},
	}
	for _, c := range cases {
		h, err := ParseHeader([]byte(c.in))
		if err != nil || h.Len() != c.fields || h.BodyOffset() != c.body {
			t.Errorf("%s: %d fields, body at %d, %v; want %d, %d", c.name, h.Len(), h.BodyOffset(), err, c.fields, c.body)
		}
	}
}

func TestParseHeaderLimitsAreExact(t *testing.T) {
	// MaxHeaderFields fields read; one more does not.
	var b strings.Builder
	for range mimelimit.MaxHeaderFields {
		b.WriteString("X: y\r\n")
	}
	if h, err := ParseHeader([]byte(b.String() + "\r\n")); err != nil || h.Len() != mimelimit.MaxHeaderFields {
		t.Errorf("%d fields: %d, %v", mimelimit.MaxHeaderFields, h.Len(), err)
	}
	if _, err := ParseHeader([]byte(b.String() + "X: y\r\n\r\n")); !errors.Is(err, ErrHeaderFields) {
		t.Errorf("one field more: %v", err)
	}
	// A header section of exactly MaxHeaderBytes, the empty line included, is read.
	exact := "X: " + strings.Repeat("a\r\n ", (mimelimit.MaxHeaderBytes-7)/4)
	exact += strings.Repeat("b", mimelimit.MaxHeaderBytes-len(exact)-4) + "\r\n\r\n"
	if h, err := ParseHeader([]byte(exact + "body")); err != nil || h.BodyOffset() != mimelimit.MaxHeaderBytes {
		t.Errorf("header of MaxHeaderBytes: body at %d, %v", h.BodyOffset(), err)
	}
	if _, err := ParseHeader([]byte("Y" + exact)); !errors.Is(err, ErrHeaderTooBig) || !errors.Is(err, ErrHeader) {
		t.Errorf("one byte more: %v", err)
	}
	if _, err := ParseHeader([]byte("X: " + strings.Repeat("a", mimelimit.MaxHeaderLineBytes-2) + "\r\n\r\n")); !errors.Is(err, ErrHeaderLine) {
		t.Errorf("line one byte over: %v", err)
	}
}

func TestLeadingFields(t *testing.T) {
	cases := []struct{ in, want string }{
		{"A: 1\r\nB: 2\r\n\r\nbody", "A: 1\r\nB: 2\r\n"},
		{"A: 1\r\n b\r\nnot a field\r\nC: 3\r\n", "A: 1\r\n b\r\n"},
		{"A: 1\r\nB: x\x00y\r\n\r\n", "A: 1\r\n"},
		{" A: 1\r\n\r\n", ""},
		{"A: 1\r\nB: 2", "A: 1\r\n"},
	}
	for _, c := range cases {
		if got := string(LeadingFields([]byte(c.in))); got != c.want {
			t.Errorf("LeadingFields(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTextprotoMatchesGoMessage(t *testing.T) {
	msg := []byte("Received: a\r\nFrom: x@y\r\nReceived: b\r\nSubject: s\r\n t\r\n\r\nbody")
	h, err := ParseHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := readGoMessage(t, msg)
	got := h.Textproto()
	if got.Get("Received") != want.Get("Received") || got.Get("Subject") != want.Get("Subject") {
		t.Errorf("Get: %q %q, go-message %q %q", got.Get("Received"), got.Get("Subject"), want.Get("Received"), want.Get("Subject"))
	}
	if keys(got) != keys(want) {
		t.Errorf("fields %s, go-message %s", keys(got), keys(want))
	}
}

// TestReadHead: ReadHead stops once the empty line is read, wherever a
// read ends, and reads no more than the header limit and one read.
func TestReadHead(t *testing.T) {
	msg := "A: 1\r\nB: 2\r\n\r\n" + strings.Repeat("body ", 10000)
	for _, n := range []int{1, 2, 3, 7, 4096} {
		head, err := ReadHead(iotest.OneByteReader(strings.NewReader(msg)))
		if n > 1 {
			head, err = ReadHead(&chunked{s: msg, n: n})
		}
		if err != nil || !strings.HasPrefix(string(head), "A: 1\r\nB: 2\r\n\r\n") || len(head) > 14+n {
			t.Errorf("reads of %d: %d bytes, %v", n, len(head), err)
		}
	}
	big := strings.Repeat("X: y\r\n", mimelimit.MaxHeaderBytes/6+10)
	if head, _ := ReadHead(strings.NewReader(big + "\r\nbody")); len(head) <= mimelimit.MaxHeaderBytes || len(head) > 2*mimelimit.MaxHeaderBytes {
		t.Errorf("header over the limit: read %d bytes", len(head))
	}
}

// chunked reads s n bytes at a time.
type chunked struct {
	s string
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[k:]
	return k, nil
}
