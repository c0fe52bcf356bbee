// Package hostile holds messages whose header section no reader in sealgate
// may take as read: the one table that the header parser and each of its
// readers (the SMTP server, the policy, DKIM, DSNs, the portal, the
// encryptor) are tested against, so that all of them fail closed alike.
package hostile

import (
	"fmt"
	"strings"

	"github.com/sealgate/sealgate/internal/mimelimit"
	"github.com/sealgate/sealgate/mailtext"
)

// PHI is the text every message below carries where a reader that skipped
// the broken header would find it: enough health information for the policy
// to protect it were it read.
const PHI = "Patient Harriet Okafor, DOB 03/14/1962, MRN 4455667, was seen for asthma and started on prednisone"

// Header is one hostile message and the error mailtext.ParseHeader must
// report for it (errors.Is).
type Header struct {
	Name string
	Msg  []byte
	Err  error
}

const top = "From: Dr Amy Lee <amy@clinic.example>\r\nTo: <records@lab.example>\r\nSubject: results\r\n"

// Headers returns the table, freshly built.
func Headers() []Header {
	body := "\r\n" + PHI + "\r\n"
	return []Header{
		{"missing blank line", []byte(top + PHI + "\r\n"), mailtext.ErrHeaderSyntax},
		{"bare LF among CRLF", []byte(top + "Bcc: <x@y.example>\n" + body), mailtext.ErrHeaderSyntax},
		{"bare LF ends the header", []byte(top + "\n" + PHI + "\r\n"), mailtext.ErrHeaderSyntax},
		{"bare CR in a field", []byte(top + "X-Note: a\rBcc: <x@y.example>\r\n" + body), mailtext.ErrHeaderSyntax},
		{"NUL in a field", []byte(top + "X-Note: a\x00b\r\n" + body), mailtext.ErrHeaderSyntax},
		{"NUL in a name", []byte(top + "X-No\x00te: a\r\n" + body), mailtext.ErrHeaderSyntax},
		{"continuation first", []byte(" folded: x\r\n" + top + body), mailtext.ErrHeaderSyntax},
		{"empty field name", []byte(top + ": nameless\r\n" + body), mailtext.ErrHeaderSyntax},
		{"space in a name", []byte(top + "X Note: a\r\n" + body), mailtext.ErrHeaderSyntax},
		{"folded line without end", []byte(top + "X-Note: " + PHI + "\r\n\tand more"), mailtext.ErrHeaderSyntax},
		{"last field without end", []byte(top + "X-Note: " + PHI), mailtext.ErrHeaderSyntax},
		{"line too long", []byte(top + "X-Long: " + strings.Repeat("a", mimelimit.MaxHeaderLineBytes) + "\r\n" + body), mailtext.ErrHeaderLine},
		{"huge header", []byte(top + fields(700, 400) + body), mailtext.ErrHeaderTooBig},
		{"huge folded field", []byte(top + "X-Fold: a" + strings.Repeat("\r\n b", mimelimit.MaxHeaderBytes/4) + "\r\n" + body), mailtext.ErrHeaderTooBig},
		{"10k fields", []byte(top + fields(10000, 0) + body), mailtext.ErrHeaderFields},
		{"one field over the limit", []byte(top + fields(mimelimit.MaxHeaderFields-2, 0) + body), mailtext.ErrHeaderFields},
	}
}

// fields is n fields "X-Pad-i: " padded with pad bytes.
func fields(n, pad int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "X-Pad-%d: %s\r\n", i, strings.Repeat("p", pad))
	}
	return b.String()
}

// Parts returns messages whose top-level header reads but one part of
// whose multipart body does not: a part header over a limit or malformed,
// or a nesting deeper than any reader goes. The health information lies in
// the part that does not read, so a reader that skipped the fault would
// find it; every reader must refuse such a message or, the policy, leave
// it unreadable (protected). Err is the error mailtext.Parts reports for
// the part; nil for the nesting, which every part reads in and which each
// reader bounds (mimelimit.MaxDepth).
func Parts() []Header {
	return []Header{
		{"10k fields in a part", multipart(fields(10000, 0)), mailtext.ErrHeaderFields},
		{"long line in a part", multipart("X-Long: " + strings.Repeat("a", mimelimit.MaxHeaderLineBytes) + "\r\n"), mailtext.ErrHeaderLine},
		{"NUL in a part header", multipart("X-Note: a\x00b\r\n"), mailtext.ErrHeaderSyntax},
		{"bare CR in a part header", multipart("X-Note: a\rContent-Type: text/html\r\n"), mailtext.ErrHeaderSyntax},
		{"missing blank line in a part", []byte(top + mixed + "--P\r\nContent-Type: text/plain\r\n" + PHI + "\r\n--P--\r\n"), mailtext.ErrHeaderSyntax},
		{"nested 100 deep", nested(100), nil},
	}
}

const mixed = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"P\"\r\n\r\n"

// multipart is a message of two parts, the second with the extra header
// fields extra and the health information.
func multipart(extra string) []byte {
	return []byte(top + mixed + "--P\r\nContent-Type: text/plain\r\n\r\nSee the note.\r\n" +
		"--P\r\nContent-Type: text/plain\r\n" + extra + "\r\n" + PHI + "\r\n--P--\r\n")
}

// nested is a message of multiparts nested depth deep, the health
// information in the innermost part.
func nested(depth int) []byte {
	var b strings.Builder
	b.WriteString(top + "MIME-Version: 1.0\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n--n%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\n" + PHI + "\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--n%d--\r\n", i)
	}
	return []byte(b.String())
}
