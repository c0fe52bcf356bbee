package mailtext

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	nettextproto "net/textproto"
	"slices"

	"github.com/emersion/go-message/textproto"

	"github.com/sealgate/sealgate/internal/mimelimit"
)

// ErrHeader is the error, or the cause of every error, of a header section
// that cannot be read (errors.Is). Like the errors below, it quotes nothing
// of the message, so it is safe to log.
var ErrHeader = errors.New("mailtext: unreadable header")

// The ways a header section fails to read, each wrapping ErrHeader.
var (
	// ErrHeaderTooBig: the header section is over mimelimit.MaxHeaderBytes.
	ErrHeaderTooBig = fmt.Errorf("%w: header section too large", ErrHeader)
	// ErrHeaderFields: more than mimelimit.MaxHeaderFields fields.
	ErrHeaderFields = fmt.Errorf("%w: too many header fields", ErrHeader)
	// ErrHeaderLine: a line over mimelimit.MaxHeaderLineBytes.
	ErrHeaderLine = fmt.Errorf("%w: header line too long", ErrHeader)
	// ErrHeaderSyntax: a line that is neither a field, nor the continuation
	// of one, nor the empty line; a NUL or a bare CR; a last line without
	// its line ending.
	ErrHeaderSyntax = fmt.Errorf("%w: malformed header line", ErrHeader)
)

// Header is the parsed form of a message's header section, read once where
// the message comes in and handed to every reader after: the fields in
// their order, each kept as written (its value unfolded only when asked),
// and the offset at which the body starts. It refers to the message's
// bytes, which must not change while it is used.
type Header struct {
	sec    []byte  // the header section, the empty line that ends it included
	fields []field // offsets into sec
}

// field is one header field: its name is sec[start:nameEnd] (white space
// before the colon left out), its value sec[colon+1:end] with the line
// endings of its lines, the last one included.
type field struct{ start, nameEnd, colon, end int }

// ParseHeader reads the header section of msg (RFC 5322 §2.2; CRLF line
// endings, or bare LF throughout, never both) within the limits of
// internal/mimelimit. A message whose
// lines are all header fields has no body; its last line must still end.
// Any other fault is an error wrapping ErrHeader, and the Header is empty:
// nothing may be decided from a header that was not read whole.
func ParseHeader(msg []byte) (Header, error) {
	fs, body, err := scanHeader(msg)
	if err != nil {
		return Header{}, err
	}
	return Header{sec: msg[:body], fields: fs}, nil
}

// LeadingFields returns the header fields at the start of msg that read
// without fault, up to the empty line or the first line that is not a
// well-formed field or continuation, within the same limits as ParseHeader.
// It is for a reader that reports what it can of a message it does not
// decide on (a DSN returning the original's header).
func LeadingFields(msg []byte) []byte {
	fs, _, _ := scanHeader(msg)
	if len(fs) == 0 {
		return msg[:0]
	}
	return msg[:fs[len(fs)-1].end]
}

// ReadHead reads r until it has read the empty line that ends a header
// section, r ends, or more than mimelimit.MaxHeaderBytes are read: at least
// the header section, when it is within the limit.
func ReadHead(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		from := max(0, len(buf)-2) // an empty line may start in what was read before
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case headEnds(buf, from) || len(buf) > mimelimit.MaxHeaderBytes || err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}

// headEnds reports whether b holds an empty line that starts at or after
// from: at the start of b, or after a line feed.
func headEnds(b []byte, from int) bool {
	if from == 0 && (bytes.HasPrefix(b, []byte("\n")) || bytes.HasPrefix(b, []byte("\r\n"))) {
		return true
	}
	rest := b[from:]
	return bytes.Contains(rest, []byte("\n\n")) || bytes.Contains(rest, []byte("\n\r\n"))
}

// scanHeader reads header lines from the start of msg. It returns the
// fields read, the offset of the body (after the empty line, or len(msg)
// for a message of header fields only) and the first fault, if any.
func scanHeader(msg []byte) ([]field, int, error) {
	fs := make([]field, 0, 32)
	crlf := false // whether the first line ended in CRLF; every line must end alike
	for pos := 0; pos < len(msg); {
		window := msg[pos:min(len(msg), pos+mimelimit.MaxHeaderLineBytes+2)]
		i := bytes.IndexByte(window, '\n')
		if i < 0 {
			if pos+len(window) == len(msg) && len(window) <= mimelimit.MaxHeaderLineBytes {
				return fs, pos, ErrHeaderSyntax // the last line has no end
			}
			return fs, pos, ErrHeaderLine
		}
		next := pos + i + 1
		line := bytes.TrimSuffix(window[:i], []byte("\r"))
		if cr := len(line) < i; pos == 0 {
			crlf = cr
		} else if cr != crlf {
			return fs, pos, ErrHeaderSyntax // CRLF and bare LF mixed: readers differ on the fields
		}
		switch {
		case len(line) > mimelimit.MaxHeaderLineBytes:
			return fs, pos, ErrHeaderLine
		case next > mimelimit.MaxHeaderBytes:
			return fs, pos, ErrHeaderTooBig
		case len(line) == 0:
			return fs, next, nil
		case bytes.IndexByte(line, 0) >= 0 || bytes.IndexByte(line, '\r') >= 0:
			return fs, pos, ErrHeaderSyntax // readers differ on where such a line ends
		case line[0] == ' ' || line[0] == '\t':
			if len(fs) == 0 {
				return fs, pos, ErrHeaderSyntax // a continuation of nothing
			}
			fs[len(fs)-1].end = next
		default:
			f, ok := newField(line, pos, next)
			if !ok {
				return fs, pos, ErrHeaderSyntax
			}
			if len(fs) == mimelimit.MaxHeaderFields {
				return fs, pos, ErrHeaderFields
			}
			fs = append(fs, f)
		}
		pos = next
	}
	return fs, len(msg), nil
}

// newField reads the first line of a field, which starts at pos: a name of
// printable ASCII (RFC 5322 §2.2), optional white space and a colon.
func newField(line []byte, pos, next int) (field, bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return field{}, false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return field{}, false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return field{}, false
		}
	}
	return field{start: pos, nameEnd: pos + len(name), colon: pos + colon, end: next}, true
}

// BodyOffset is where the body starts in the message: after the empty line
// that ends the header section, or at its end when it has none.
func (h *Header) BodyOffset() int { return len(h.sec) }

// Section is the header section as written, with the empty line that ends
// it when there is one.
func (h *Header) Section() []byte { return h.sec }

// Fields is the header fields as written, without the empty line that ends
// them.
func (h *Header) Fields() []byte {
	if len(h.fields) == 0 {
		return h.sec[:0]
	}
	return h.sec[:h.fields[len(h.fields)-1].end]
}

// Len is the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// Name is the name of field i as written.
func (h *Header) Name(i int) string {
	f := h.fields[i]
	return string(h.sec[f.start:f.nameEnd])
}

// Key is the name of field i in canonical form ("Message-Id", "Content-Type").
func (h *Header) Key(i int) string { return nettextproto.CanonicalMIMEHeaderKey(h.Name(i)) }

// Raw is field i as written: its name, colon, value and the line endings of
// all its lines, continuation lines included.
func (h *Header) Raw(i int) []byte {
	f := h.fields[i]
	return h.sec[f.start:f.end]
}

// ValueSpan is where the value of field i lies in the message: from after
// its colon up to its last line ending, continuation lines included.
func (h *Header) ValueSpan(i int) (start, end int) {
	f := h.fields[i]
	end = f.end - 1
	if end > f.colon && h.sec[end-1] == '\r' {
		end--
	}
	return f.colon + 1, end
}

// Value is the value of field i unfolded (RFC 5322 §2.2.3: the line endings
// before continuation lines removed) with the white space around it trimmed.
// It holds no CR, LF or NUL.
func (h *Header) Value(i int) string {
	start, end := h.ValueSpan(i)
	v := bytes.Trim(h.sec[start:end], " \t")
	if bytes.IndexByte(v, '\n') < 0 {
		return string(v)
	}
	out := make([]byte, 0, len(v))
	for _, c := range v {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return string(out)
}

// Index is the position of the first field named name (any letter case),
// or -1.
func (h *Header) Index(name string) int {
	for i := range h.fields {
		if h.is(i, name) {
			return i
		}
	}
	return -1
}

// Get is the unfolded value of the first field named name, "" without one.
func (h *Header) Get(name string) string {
	if i := h.Index(name); i >= 0 {
		return h.Value(i)
	}
	return ""
}

// Values are the unfolded values of every field named name, in order.
func (h *Header) Values(name string) []string {
	var out []string
	for i := range h.fields {
		if h.is(i, name) {
			out = append(out, h.Value(i))
		}
	}
	return out
}

// Count is the number of fields named name.
func (h *Header) Count(name string) int {
	n := 0
	for i := range h.fields {
		if h.is(i, name) {
			n++
		}
	}
	return n
}

// is reports whether field i is named name, ignoring ASCII letter case.
func (h *Header) is(i int, name string) bool {
	f := h.fields[i]
	n := h.sec[f.start:f.nameEnd]
	if len(n) != len(name) {
		return false
	}
	for j := range n {
		if lower(n[j]) != lower(name[j]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Textproto is the header as go-message holds it, for the readers that walk
// a message's MIME structure with go-message (the policy, the portal, the
// encryptor): built from the fields already read, nothing read again. It
// is the header go-message's own reader would build from the same bytes.
func (h *Header) Textproto() textproto.Header {
	var th textproto.Header
	// go-message keeps its fields last first, and AddRaw appends: adding
	// them backwards gives the order (and Get's choice) of its reader.
	for i := len(h.fields) - 1; i >= 0; i-- {
		th.AddRaw(h.Raw(i))
	}
	return th
}
