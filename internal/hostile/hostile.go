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
