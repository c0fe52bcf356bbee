package mailtext

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
)

// ErrMultipart is the error of a multipart body that cannot be read whole:
// no boundary, no delimiter line, or no close delimiter (a body cut short).
// Like ErrHeader it quotes nothing of the message.
var ErrMultipart = errors.New("mailtext: unreadable multipart body")

// ErrPartHeader wraps the error of a part whose header does not read
// (errors.Is also matches the ErrHeader error that ParseHeader reported).
var ErrPartHeader = fmt.Errorf("%w: part header", ErrHeader)

// BodyPart is one part of a multipart body: its header, read by ParseHeader
// within the limits of every header, and its body, still in its transfer
// encoding. Both refer to the bytes of the body it was split from.
type BodyPart struct {
	Header Header
	Body   []byte
}

// maxBoundary is the longest boundary RFC 2046 §5.1.1 allows.
const maxBoundary = 70

// Parts walks the parts of a multipart body (RFC 2046 §5.1.1) separated by
// boundary, the preamble and the epilogue left out. Each part is yielded
// with a nil error, or, when its header does not read, with an error
// wrapping ErrPartHeader and the header's own (the walk then goes on to
// the next part). A body without a delimiter line or a close delimiter
// ends with a last yield of ErrMultipart, after the parts that were found.
// The body is read where it lies: nothing is copied.
func Parts(body []byte, boundary string) iter.Seq2[BodyPart, error] {
	return func(yield func(BodyPart, error) bool) {
		if boundary == "" || len(boundary) > maxBoundary {
			yield(BodyPart{}, ErrMultipart)
			return
		}
		dash := []byte("--" + boundary)
		_, start, closed, ok := nextDelimiter(body, dash, 0)
		if !ok {
			yield(BodyPart{}, ErrMultipart)
			return
		}
		for !closed {
			end, next, cl, ok := nextDelimiter(body, dash, start)
			if !ok {
				end, next = len(body), len(body) // cut short: the rest is the last part
			}
			if !yield(part(body[start:end])) {
				return
			}
			if !ok {
				yield(BodyPart{}, ErrMultipart)
				return
			}
			start, closed = next, cl
		}
	}
}

// Outside returns what a multipart body holds outside its parts (RFC 2046
// §5.1.1): the preamble before its first delimiter line and the epilogue
// after its close delimiter line. Mail clients show neither, yet both
// leave with the message. A body without a delimiter line is all
// preamble; one without a close delimiter has no epilogue.
func Outside(body []byte, boundary string) (preamble, epilogue []byte) {
	if boundary == "" || len(boundary) > maxBoundary {
		return body, nil
	}
	dash := []byte("--" + boundary)
	end, start, closed, ok := nextDelimiter(body, dash, 0)
	if !ok {
		return body, nil
	}
	for !closed {
		if _, start, closed, ok = nextDelimiter(body, dash, start); !ok {
			return body[:end], nil
		}
	}
	return body[:end], body[start:]
}

// part reads the header of one part.
func part(raw []byte) (BodyPart, error) {
	h, err := ParseHeader(raw)
	if err != nil {
		return BodyPart{Body: raw}, fmt.Errorf("%w (%w)", ErrPartHeader, err)
	}
	return BodyPart{Header: h, Body: raw[h.BodyOffset():]}, nil
}

// nextDelimiter finds the first delimiter line in body at or after from: a
// line that starts with dash ("--" and the boundary), then "--" for the
// close delimiter, then optional white space up to the line's end. end is
// where the content before it stops (the line ending before the delimiter
// belongs to it), next is where the line after it starts.
func nextDelimiter(body, dash []byte, from int) (end, next int, closed, ok bool) {
	for i := from; i <= len(body); {
		k := bytes.Index(body[i:], dash)
		if k < 0 {
			return 0, 0, false, false
		}
		at := i + k
		i = at + 1
		if at > 0 && body[at-1] != '\n' {
			continue // not at the start of a line
		}
		rest := body[at+len(dash):]
		closed = bytes.HasPrefix(rest, []byte("--"))
		if closed {
			rest = rest[2:]
		}
		rest = bytes.TrimLeft(rest, " \t")
		var eol int
		switch {
		case bytes.HasPrefix(rest, []byte("\r\n")):
			eol = 2
		case bytes.HasPrefix(rest, []byte("\n")):
			eol = 1
		case len(rest) == 0:
			// the body's end
		default:
			continue // a longer boundary that starts like this one
		}
		end = at
		if end > from && body[end-1] == '\n' {
			end--
			if end > from && body[end-1] == '\r' {
				end--
			}
		}
		return end, len(body) - len(rest) + eol, closed, true
	}
	return 0, 0, false, false
}
