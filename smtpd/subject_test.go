package smtpd

import (
	"testing"

	"github.com/sealgate/sealgate/mailtext"
)

func TestStripSubjectTag(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, tag, want string }{
		{"From: a@b\r\nSubject: [secure] Lab results\r\n\r\nbody [secure]\r\n", "[secure]",
			"From: a@b\r\nSubject: Lab results\r\n\r\nbody [secure]\r\n"},
		{"Subject: Your results\r\n [SECURE]\r\nTo: x@y\r\n\r\nb\r\n", "[secure]",
			"Subject: Your results\r\nTo: x@y\r\n\r\nb\r\n"},
		{"Subject: =?utf-8?q?=5Bsecure=5D_x?=\r\n\r\nb\r\n", "[secure]",
			"Subject: =?utf-8?q?=5Bsecure=5D_x?=\r\n\r\nb\r\n"},
		{"X-Subject: [secure] no\r\nSubject: none here\r\n\r\nb\r\n", "[secure]",
			"X-Subject: [secure] no\r\nSubject: none here\r\n\r\nb\r\n"},
		{"Subject: [secure] x\r\n\r\n", "", "Subject: [secure] x\r\n\r\n"},
	}
	for _, c := range cases {
		h, err := mailtext.ParseHeader([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(stripSubjectTag([]byte(c.in), &h, c.tag)); got != c.want {
			t.Errorf("stripSubjectTag(%q) =\n%q\nwant\n%q", c.in, got, c.want)
		}
	}
}
