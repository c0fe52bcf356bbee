package smtpd

import (
	"bytes"

	"github.com/sealgate/sealgate/mailtext"
	"github.com/sealgate/sealgate/policy"
)

// stripSubjectTag removes a policy subject tag ("[secure]") from the raw
// Subject header. Only the raw header text is edited; a tag inside an
// RFC 2047 encoded-word is left alone, because a decoded header is never
// written back (it could carry CR or LF).
func stripSubjectTag(msg []byte, tag string) []byte {
	if tag == "" {
		return msg
	}
	head, _, ok := mailtext.SplitHeader(msg)
	if !ok {
		return msg
	}
	start, stop := findHeader(head[:len(head)-2], "subject")
	if start < 0 {
		return msg
	}
	value := string(msg[start:stop])
	unfolded := string(bytes.ReplaceAll([]byte(value), []byte("\r\n"), nil))
	cleaned := policy.StripSubjectTag(unfolded, tag)
	if cleaned == unfolded {
		return msg
	}
	out := make([]byte, 0, len(msg))
	out = append(out, msg[:start]...)
	out = append(out, ' ')
	out = append(out, cleaned...)
	return append(out, msg[stop:]...)
}

// findHeader returns the span of the value of the first header field with
// the given lower-case name (after the colon, up to its final CRLF),
// continuation lines included, or -1.
func findHeader(hdr []byte, name string) (int, int) {
	for pos := 0; pos < len(hdr); {
		eol := bytes.Index(hdr[pos:], []byte("\r\n"))
		if eol < 0 {
			return -1, -1
		}
		line := hdr[pos : pos+eol]
		colon := bytes.IndexByte(line, ':')
		if colon > 0 && string(bytes.ToLower(bytes.TrimRight(line[:colon], " \t"))) == name {
			stop := pos + eol
			for stop+2 < len(hdr) && (hdr[stop+2] == ' ' || hdr[stop+2] == '\t') {
				next := bytes.Index(hdr[stop+2:], []byte("\r\n"))
				if next < 0 {
					break
				}
				stop += 2 + next
			}
			return pos + colon + 1, stop
		}
		pos += eol + 2
	}
	return -1, -1
}
