package unsubscribe

import (
	"bytes"
	"errors"
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

// ErrMalformed is AddHeaders' error for a message whose header does not
// read (mailtext.ParseHeader): the fields cannot be put in it with any
// certainty that no other List-Unsubscribe stays. It quotes nothing of the
// message.
var ErrMalformed = errors.New("unsubscribe: message header cannot be read")

// AddHeaders returns msg (CRLF line endings) with any List-Unsubscribe and
// List-Unsubscribe-Post fields it had removed and these put first:
// List-Unsubscribe with link and, when mailto is set, a mailto: URI whose
// subject carries the token; List-Unsubscribe-Post with PostValue.
func AddHeaders(msg []byte, link, mailto, token string) ([]byte, error) {
	h, err := mailtext.ParseHeader(msg)
	if err != nil {
		return nil, ErrMalformed
	}
	uris := "<" + link + ">"
	if mailto != "" {
		uris += ", <mailto:" + mailto + "?subject=" + url.PathEscape("unsubscribe "+token) + ">"
	}
	var out bytes.Buffer
	out.Grow(len(msg) + len(uris) + 128)
	out.WriteString(FieldUnsubscribe + ": " + uris + "\r\n")
	out.WriteString(FieldPost + ": " + PostValue + "\r\n")
	for i := range h.Len() {
		if name := h.Name(i); !strings.EqualFold(name, FieldUnsubscribe) && !strings.EqualFold(name, FieldPost) {
			out.Write(h.Raw(i))
		}
	}
	out.Write(msg[len(h.Fields()):])
	return out.Bytes(), nil
}
