package mailtext_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"

	"github.com/sealgate/sealgate/internal/hostile"
	"github.com/sealgate/sealgate/mailtext"
)

// TestPartsAgreesWithGoMessage: on well-formed bodies (a preamble and an
// epilogue, bare LF, padding after a delimiter, an empty part, a line that
// starts like the boundary, a part of header fields only) Parts finds the
// parts, headers and bodies that go-message's multipart reader finds.
func TestPartsAgreesWithGoMessage(t *testing.T) {
	bodies := []string{
		"preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nX-A: 1\r\nX-B: 2\r\n\r\ntwo\r\n\r\n--b--\r\nepilogue\r\n",
		"--b\nContent-Type: text/plain\n\nbare LF\n--b--\n",
		"--b  \r\nX-A: 1\r\n\r\npadded\r\n--b--\t\r\n",
		"--b\r\n\r\n\r\n--b\r\nX-A: 1\r\n\r\n--bx is not a delimiter\r\n--b--",
		"--b\r\nX-A: 1\r\n\r\n--b\r\nX-B: folded\r\n  value\r\n\r\nlast\r\n--b--",
	}
	for _, body := range bodies {
		var got []string
		for p, err := range mailtext.Parts([]byte(body), "b") {
			if err != nil {
				t.Fatalf("%q: %v", body, err)
			}
			got = append(got, strings.Join(words(p.Header.Values("X-A")), ",")+"|"+strings.Join(words(p.Header.Values("X-B")), ",")+"|"+string(p.Body))
		}
		var want []string
		mr := textproto.NewMultipartReader(strings.NewReader(body), "b")
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q: go-message: %v", body, err)
			}
			b, _ := io.ReadAll(p)
			want = append(want, strings.Join(headerValues(p.Header, "X-A"), ",")+"|"+strings.Join(headerValues(p.Header, "X-B"), ",")+"|"+string(b))
		}
		if strings.Join(got, "\n#\n") != strings.Join(want, "\n#\n") {
			t.Errorf("%q:\n got %q\nwant %q", body, got, want)
		}
	}
}

func headerValues(h textproto.Header, k string) []string {
	var out []string
	for f := h.FieldsByKey(k); f.Next(); {
		out = append(out, f.Value())
	}
	return words(out)
}

// words is each value with its white space runs made one space (the two
// readers unfold alike but keep white space differently).
func words(vs []string) []string {
	for i, v := range vs {
		vs[i] = strings.Join(strings.Fields(v), " ")
	}
	return vs
}

// TestPartsUnreadable: a body without a boundary, a delimiter or a close
// delimiter ends in ErrMultipart, after the parts it has; a part whose
// header does not read is reported with ErrPartHeader and the header's
// own error, and the walk goes on.
func TestPartsUnreadable(t *testing.T) {
	for _, c := range []struct {
		body, boundary string
		parts          int
	}{
		{"--b\r\n\r\nx\r\n--b--\r\n", "", 0},
		{"no delimiter\r\n", "b", 0},
		{"--b\r\n\r\ncut short", "b", 1},
		{"--b\r\n\r\none\r\n--b\r\n\r\ntwo", "b", 2},
	} {
		n, last := 0, error(nil)
		for _, err := range mailtext.Parts([]byte(c.body), c.boundary) {
			if err == nil {
				n++
			}
			last = err
		}
		if n != c.parts || !errors.Is(last, mailtext.ErrMultipart) {
			t.Errorf("%q: %d parts, last error %v; want %d, ErrMultipart", c.body, n, last, c.parts)
		}
	}
	bad := "--b\r\nX: a\x00b\r\n\r\nPHI\r\n--b\r\nX-A: 1\r\n\r\nfine\r\n--b--\r\n"
	var errs []error
	for p, err := range mailtext.Parts([]byte(bad), "b") {
		errs = append(errs, err)
		if err != nil && p.Header.Len() != 0 {
			t.Errorf("a part that does not read has %d fields", p.Header.Len())
		}
	}
	if len(errs) != 2 || !errors.Is(errs[0], mailtext.ErrPartHeader) || !errors.Is(errs[0], mailtext.ErrHeaderSyntax) ||
		strings.Contains(errs[0].Error(), "PHI") || errs[1] != nil {
		t.Errorf("errors %v", errs)
	}
}

// TestHostileParts runs the shared table of hostile parts through Parts,
// down the first part of each level: each reports its part's fault.
func TestHostileParts(t *testing.T) {
	for _, c := range hostile.Parts() {
		depth, found := 0, error(nil)
		msg := c.Msg
		for found == nil {
			h, err := mailtext.ParseHeader(msg)
			if err != nil {
				t.Fatalf("%s: top-level header: %v", c.Name, err)
			}
			_, params, _ := strings.Cut(h.Get("Content-Type"), "boundary=")
			if params == "" {
				break
			}
			var next []byte
			for p, err := range mailtext.Parts(msg[h.BodyOffset():], strings.Trim(params, `"`)) {
				if err != nil {
					found = err
					break
				}
				if next == nil {
					next = append(append([]byte{}, p.Header.Section()...), p.Body...)
				}
			}
			msg, depth = next, depth+1
		}
		switch {
		case c.Err == nil && (found != nil || depth != 100):
			t.Errorf("%s: %v at depth %d", c.Name, found, depth)
		case c.Err != nil && (!errors.Is(found, c.Err) || !errors.Is(found, mailtext.ErrPartHeader)):
			t.Errorf("%s: %v, want %v", c.Name, found, c.Err)
		}
	}
}

// FuzzParts: any body splits without a panic into parts that lie inside
// it, in order, no more of them than there are delimiters, each with a
// header that read or an error that says why.
func FuzzParts(f *testing.F) {
	f.Add([]byte("pre\r\n--b\r\nX-A: 1\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepi"))
	f.Add([]byte("--b\nX: a\x00b\n\n--b--"))
	f.Add([]byte("--b\r\n\r\ncut"))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, last := 0, 0
		for p, err := range mailtext.Parts(body, "b") {
			if errors.Is(err, mailtext.ErrMultipart) {
				break
			}
			n++
			if err != nil && !errors.Is(err, mailtext.ErrPartHeader) {
				t.Fatalf("part %d: %v", n, err)
			}
			if len(p.Body) == 0 {
				continue
			}
			at := cap(body) - cap(p.Body) // the part's offset in body
			if at < last || at+len(p.Body) > len(body) {
				t.Fatalf("part %d at %d+%d, outside the body or out of order", n, at, len(p.Body))
			}
			last = at
		}
		if d := strings.Count(string(body), "--b"); n > d {
			t.Fatalf("%d parts from %d delimiters", n, d)
		}
	})
}

// TestOutside: the preamble and the epilogue of a multipart body, as
// written, whatever the parts between them hold.
func TestOutside(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ body, pre, epi string }{
		{"pre\r\n--b\r\n\r\nx\r\n--b--\r\nepi\r\n", "pre", "epi\r\n"},
		{"--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n--b--", "", ""},
		{"pre\r\n--b--\r\nepi", "pre", "epi"},
		{"pre\r\n--b\r\n\r\ncut short", "pre", ""},
		{"no delimiter --b\r\n", "no delimiter --b\r\n", ""},
		{"pre\r\n--bb\r\n--b \r\n\r\nx\r\n--b-- \r\n--b\r\nepi", "pre\r\n--bb", "--b\r\nepi"},
	} {
		pre, epi := mailtext.Outside([]byte(c.body), "b")
		if string(pre) != c.pre || string(epi) != c.epi {
			t.Errorf("Outside(%q) = %q, %q; want %q, %q", c.body, pre, epi, c.pre, c.epi)
		}
	}
	if pre, epi := mailtext.Outside([]byte("x"), ""); string(pre) != "x" || epi != nil {
		t.Errorf("no boundary: %q, %q", pre, epi)
	}
}
