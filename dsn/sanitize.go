package dsn

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sealgate/sealgate/mailtext"
)

// sanitize makes outside text safe for one header field: invalid UTF-8,
// control and format characters and line breaks become spaces, runs of
// white space collapse to one, non-ASCII becomes '?' unless allowUTF8, and
// the result is cut to at most max bytes on a character boundary.
func sanitize(s string, max int, allowUTF8 bool) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, " ") {
		switch {
		case unicode.IsControl(r), unicode.IsSpace(r), unicode.Is(unicode.Cf, r):
			space = true
			continue
		case r >= utf8.RuneSelf && !allowUTF8:
			r = '?'
		}
		sep := space && b.Len() > 0
		space = false
		if b.Len()+utf8.RuneLen(r)+btoi(sep) > max {
			break
		}
		if sep {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// crlf normalises every line ending (CRLF, bare LF, bare CR) to CRLF and
// ends non-empty text with one.
func crlf(p []byte) []byte {
	p = bytes.ReplaceAll(p, []byte("\r\n"), []byte("\n"))
	p = bytes.ReplaceAll(p, []byte("\r"), []byte("\n"))
	p = bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))
	if len(p) > 0 && !bytes.HasSuffix(p, []byte("\r\n")) {
		p = append(p, '\r', '\n')
	}
	return p
}

// returnedSection is what the notification returns of the original: all
// of it for FULL, else its header fields as the one header parser reads
// them (mailtext.LeadingFields): up to the empty line, or up to the first
// line it cannot read, so that nothing after the header is returned even
// of a malformed message, and the notification is still built.
func returnedSection(original []byte, full bool) []byte {
	msg := crlf(original)
	if full {
		return msg
	}
	return mailtext.LeadingFields(msg)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
