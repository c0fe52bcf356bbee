package smtpd

import (
	"bytes"

	"github.com/sealgate/sealgate/mailtext"
	"github.com/sealgate/sealgate/policy"
)

// stripSubjectTag removes a policy subject tag ("[secure]") from the raw
// Subject header (h is msg's header). Only the raw header text is edited; a
// tag inside an RFC 2047 encoded-word is left alone, because a decoded
// header is never written back (it could carry CR or LF).
func stripSubjectTag(msg []byte, h *mailtext.Header, tag string) []byte {
	if tag == "" {
		return msg
	}
	i := h.Index("Subject")
	if i < 0 {
		return msg
	}
	start, stop := h.ValueSpan(i)
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
