package box

import (
	"errors"
	"strings"
	"testing"
)

// go-message quotes the line it cannot parse in its errors; the portal
// hand-off logs Parse's error, so it must name no content of the message.
func TestParseErrorQuotesNoContent(t *testing.T) {
	t.Parallel()
	const secret = "HIV-positive-Jane-Doe"
	msgs := map[string]string{
		"part header": "From: a@clinic.test\r\nTo: b@partner.test\r\nSubject: s\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\n" + secret + " no colon in this header line\r\n\r\nbody\r\n--b--\r\n",
		"part body": "From: a@clinic.test\r\nTo: b@partner.test\r\nSubject: s\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n" +
			secret + "\r\n--c\r\n" + secret + " bad\r\n\r\n--c--\r\n--b--\r\n",
	}
	for name, raw := range msgs {
		_, err := Parse([]byte(raw))
		if err == nil {
			t.Errorf("%s: no error for a malformed message", name)
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v is not ErrMalformed", name, err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error quotes message content: %q", name, err.Error())
		}
	}
}
