package policy

import (
	"io"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// newEntity builds an entity from a header and its raw body as go-message
// does, with one difference: quoted-printable bodies are decoded by
// decodeQP, in one pass, instead of the standard library's byte-at-a-time
// reader that dominated the cost of HTML mail.
func newEntity(h textproto.Header, body io.Reader) (*message.Entity, error) {
	mh := message.Header{Header: h}
	if strings.EqualFold(strings.TrimSpace(mh.Get("Content-Transfer-Encoding")), "quoted-printable") {
		mh = mh.Copy()
		mh.Del("Content-Transfer-Encoding")
		body = &qpReader{src: body}
	}
	return message.New(mh, body)
}

// qpReader decodes quoted-printable (RFC 2045 §6.7) on first read, leniently: an "="
// that starts no valid escape is kept as it is.
type qpReader struct {
	src  io.Reader
	out  []byte
	err  error
	done bool
}

func (q *qpReader) Read(p []byte) (int, error) {
	if !q.done {
		raw, err := io.ReadAll(q.src)
		q.out, q.err, q.done = decodeQP(raw), err, true
	}
	if len(q.out) == 0 {
		if q.err != nil {
			return 0, q.err
		}
		return 0, io.EOF
	}
	n := copy(p, q.out)
	q.out = q.out[n:]
	return n, nil
}

// decodeQP decodes quoted-printable text: "=XX" escapes and "=" soft line breaks, with
// the trailing white space of lines removed. Every byte of src makes at most one byte of
// the result, which is written in place rather than appended.
func decodeQP(src []byte) []byte {
	out := make([]byte, len(src))
	o := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c != '=' && c != ' ' && c != '\t':
			out[o] = c
			o++
		case c == '=':
			if n, ok := softBreak(src[i+1:]); ok {
				i += n
				continue
			}
			if i+2 < len(src) {
				hi, ok1 := unhex(src[i+1])
				lo, ok2 := unhex(src[i+2])
				if ok1 && ok2 {
					out[o] = hi<<4 | lo
					o++
					i += 2
					continue
				}
			}
			out[o] = c
			o++
		default: // a space or tab: kept unless only white space follows on its line
			j := i
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				j++
			}
			if j < len(src) && src[j] != '\r' && src[j] != '\n' {
				o += copy(out[o:], src[i:j])
			}
			i = j - 1
		}
	}
	return out[:o]
}

// softBreak reports whether a soft-break "=" is followed by a line break (with any white
// space before it) or by the end of the text, and how many bytes that takes.
func softBreak(b []byte) (int, bool) {
	j := 0
	for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
		j++
	}
	switch {
	case j < len(b) && b[j] == '\n':
		return j + 1, true
	case j+1 < len(b) && b[j] == '\r' && b[j+1] == '\n':
		return j + 2, true
	case j == len(b):
		return j, true // "=" at the very end
	}
	return 0, false
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
