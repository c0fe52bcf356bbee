package policy

import (
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
)

// A multipart body's preamble and epilogue are not shown by mail clients,
// but they leave with the message: a patient's record written there (before
// the first delimiter, after the close delimiter, or in a body whose first
// delimiter is the close one) is read and protects the message, at the top
// level and in a nested multipart. The usual preamble ("This is a
// multi-part message in MIME format.") clears as before.
func TestMultipartPreambleAndEpilogueRead(t *testing.T) {
	t.Parallel()
	const head = "From: a@clinic.example\r\nTo: b@example.net\r\nSubject: hi\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	const part = "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	nested := "--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n" + hostile.PHI +
		"\r\n--c\r\nContent-Type: text/plain\r\n\r\nhello\r\n--c--\r\n--b--\r\n"
	for name, body := range map[string]string{
		"preamble":    hostile.PHI + "\r\n" + part + "--b--\r\n",
		"epilogue":    part + "--b--\r\n" + hostile.PHI + "\r\n",
		"close first": hostile.PHI + "\r\n--b--\r\n",
		"nested":      nested,
	} {
		if v := checkMsg(t, Config{}, []byte(head+body)); !v.PHI || v.Action != ActionEncrypt {
			t.Errorf("%s: %+v, want PHI and encrypt", name, v)
		}
	}
	plain := head + "This is a multi-part message in MIME format.\r\n" + part + "--b--\r\n"
	if v := checkMsg(t, Config{}, []byte(plain)); v.PHI || v.Action != ActionDeliver {
		t.Errorf("the usual preamble: %+v, want no PHI, deliver", v)
	}
}
