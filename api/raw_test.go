package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
	"github.com/sealgate/sealgate/mailtext"
)

// TestRawDropsBcc: a message/rfc822 body gives its envelope from From, To,
// Cc and Bcc; the Bcc field (folded too) is removed and every other byte of
// the message is kept as it was.
func TestRawDropsBcc(t *testing.T) {
	in := "From: Lab <lab@clinic.example.org>\nTo: a@example.net\nBcc: hidden@example.net,\n  other@example.net\n" +
		"Subject: s\n\tfolded\n\nbody\nBcc: not a field\n"
	env, err := raw([]byte(in), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if env.From != "lab@clinic.example.org" || strings.Join(env.To, ",") != "a@example.net,hidden@example.net,other@example.net" {
		t.Errorf("envelope %q %q", env.From, env.To)
	}
	want := "From: Lab <lab@clinic.example.org>\r\nTo: a@example.net\r\nSubject: s\r\n\tfolded\r\n\r\nbody\r\nBcc: not a field\r\n"
	if string(env.Body) != want {
		t.Errorf("body\n%q\nwant\n%q", env.Body, want)
	}
}

// TestRawRefusesHostileHeaders runs the shared table of hostile headers
// through the API's message/rfc822 reader, which makes line endings CRLF
// first (a request may use bare LF): a header whose CRLF form does not read
// is a 400 that quotes nothing of it; one that reads goes on to smtpd in
// that CRLF form.
func TestRawRefusesHostileHeaders(t *testing.T) {
	for _, c := range hostile.Headers() {
		env, err := raw(c.Msg, "lab@clinic.example.org", []string{"a@example.net"})
		if _, perr := mailtext.ParseHeader(mailtext.ToCRLF(c.Msg)); perr == nil {
			if err != nil || !strings.HasSuffix(string(env.Body), "\r\n\r\n"+hostile.PHI+"\r\n") {
				t.Errorf("%s: the CRLF form reads, yet %v", c.Name, err)
			}
			continue
		}
		var re *requestError
		if !errors.As(err, &re) || re.status != 400 || strings.Contains(re.message, "Harriet") {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}
