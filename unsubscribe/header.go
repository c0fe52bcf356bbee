package unsubscribe

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/sealgate/sealgate/mailtext"
)

// Field names (RFC 2369 §3.2, RFC 8058 §3.1).
const (
	FieldUnsubscribe = "List-Unsubscribe"
	FieldPost        = "List-Unsubscribe-Post"
	// PostValue is the one value List-Unsubscribe-Post may have, and the
	// body a one-click POST carries.
	PostValue = "List-Unsubscribe=One-Click"
)

// Link is the one-click URL of token under the portal's base URL.
func Link(baseURL, token string) string {
	return strings.TrimSuffix(baseURL, "/") + "/u/" + token
}

// AddHeaders returns msg (CRLF line endings) with any List-Unsubscribe and
// List-Unsubscribe-Post fields it had removed and these put first:
// List-Unsubscribe with link and, when mailto is set, a mailto: URI whose
// subject carries the token; List-Unsubscribe-Post with PostValue.
func AddHeaders(msg []byte, link, mailto, token string) []byte {
	header, body, _ := mailtext.SplitHeader(msg)
	uris := "<" + link + ">"
	if mailto != "" {
		uris += ", <mailto:" + mailto + "?subject=" + url.PathEscape("unsubscribe "+token) + ">"
	}
	var out bytes.Buffer
	out.Grow(len(msg) + len(uris) + 128)
	out.WriteString(FieldUnsubscribe + ": " + uris + "\r\n")
	out.WriteString(FieldPost + ": " + PostValue + "\r\n")
	out.Write(dropFields(header, FieldUnsubscribe, FieldPost))
	out.Write(body)
	return out.Bytes()
}

// dropFields removes the fields named (and their folded continuation
// lines) from a header block.
func dropFields(header []byte, names ...string) []byte {
	var out bytes.Buffer
	skipping := false
	for _, line := range bytes.SplitAfter(header, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !skipping {
				out.Write(line)
			}
			continue
		}
		skipping = false
		if name, _, ok := bytes.Cut(line, []byte(":")); ok {
			for _, n := range names {
				if strings.EqualFold(strings.TrimSpace(string(name)), n) {
					skipping = true
				}
			}
		}
		if !skipping {
			out.Write(line)
		}
	}
	return out.Bytes()
}
