package smtpd

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// startTLSRaw opens the submission listener, runs STARTTLS by hand and
// returns a raw conversation inside TLS, after EHLO.
func startTLSRaw(t *testing.T, h *harness) *raw {
	t.Helper()
	r := dialRaw(t, h.subm)
	r.send("EHLO mx.clinic.test\r\n")
	if ehlo := r.expectAll("250"); !strings.Contains(ehlo, "STARTTLS") || strings.Contains(ehlo, "AUTH") {
		t.Fatalf("EHLO before TLS: %q", ehlo)
	}
	r.send("STARTTLS\r\n")
	r.expect("220")
	tc := tls.Client(r.c, h.clientTLS())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	rt := &raw{t: t, c: tc, r: bufio.NewReader(tc)}
	rt.send("EHLO mx.clinic.test\r\n")
	if ehlo := rt.expectAll("250"); strings.Contains(ehlo, "STARTTLS") || !strings.Contains(ehlo, "AUTH PLAIN") ||
		!strings.Contains(ehlo, "REQUIRETLS") || !strings.Contains(ehlo, "DSN") {
		t.Fatalf("EHLO under TLS: %q", ehlo)
	}
	return rt
}

// expectAll reads one reply and returns all its lines.
func (r *raw) expectAll(prefix string) string {
	r.t.Helper()
	var all strings.Builder
	for {
		line, err := r.r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, prefix) {
			r.t.Fatalf("want reply %q, got %q (err %v)", prefix, line, err)
		}
		all.WriteString(line)
		if len(line) < 4 || line[3] != '-' {
			return all.String()
		}
	}
}

// Regression: Postfix relays an SMTPUTF8 recipient with DSN as
// RCPT TO:<renée@dest.test> ORCPT=rfc822;ren+C3+A9e@dest.test, and go-smtp
// answered 501 5.5.4 Malformed ORCPT parameter value, so the message
// bounced. Every form of RFC 3461 and RFC 6533 is read, inside TLS, and the
// original recipient is kept in a form the next hop can be given.
func TestORCPTAsRealMTAsSendIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := startTLSRaw(t, h)
	r.send("AUTH PLAIN " + plainIR("marketing", testPassword) + "\r\n")
	r.expect("235")
	cases := []struct{ param, want string }{
		{"ORCPT=rfc822;ren+C3+A9e@dest.test", "utf-8;renée@dest.test"},
		{"ORCPT=utf-8;ren\\x{E9}e@dest.test", "utf-8;renée@dest.test"},
		{"ORCPT=utf-8;renée@dest.test", "utf-8;renée@dest.test"},
		{"ORCPT=RFC822;Orig+2Bx@dest.test", "rfc822;Orig+x@dest.test"},
		{"", ""},
	}
	for i, tc := range cases {
		r.send("MAIL FROM:<news@news.example.org> SMTPUTF8\r\n")
		r.expect("250")
		r.send(strings.TrimSpace("RCPT TO:<renée@dest.test> NOTIFY=SUCCESS,FAILURE "+tc.param) + "\r\n")
		r.expect("250")
		r.send("DATA\r\n")
		r.expect("354")
		// A body line that looks like a RCPT command passes untouched.
		r.send("From: news@news.example.org\r\nSubject: x\r\n\r\nRCPT TO:<a@b.test> ORCPT=rfc822;a+40b@c.test\r\n.\r\n")
		r.expect("250")
		if h.q.count() != i+1 {
			t.Fatalf("%s: queued %d", tc.param, h.q.count())
		}
		got := h.q.envs[i].Rcpts[0]
		if got.ORCPT != tc.want || len(got.Notify) != 2 {
			t.Errorf("%s: recipient %+v, want ORCPT %q", tc.param, got, tc.want)
		}
		if !strings.Contains(string(h.q.bodies[i]), "\r\nRCPT TO:<a@b.test> ORCPT=rfc822;a+40b@c.test\r\n") {
			t.Errorf("%s: body changed:\n%s", tc.param, h.q.bodies[i])
		}
	}
	for _, bad := range []string{"ORCPT=rfc822;ren+C", "ORCPT=rfc822;a+0Ab@x.test", "ORCPT=x400;a", "ORCPT=utf-8;a\\x{D800}@x.test"} {
		r.send("MAIL FROM:<news@news.example.org> SMTPUTF8\r\n")
		r.expect("250")
		r.send("RCPT TO:<p@dest.test> " + bad + "\r\n")
		r.expect("501")
		r.send("RSET\r\n")
		r.expect("250")
	}
}

// An "ORCPT=" inside a quoted local part is part of the path, not a
// parameter: it is neither taken as the original recipient nor removed.
func TestORCPTInsideQuotedPathIsNotAParameter(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		`RCPT TO:<"x> ORCPT=rfc822;a@evil.test"@partner.test>`,
		`RCPT TO:<"x\"> ORCPT=rfc822;a@evil.test"@partner.test>`,
	} {
		if out, o := stripORCPT(line); out != line || o != nil {
			t.Errorf("%s: became %q, %+v", line, out, o)
		}
	}
	out, o := stripORCPT(`RCPT TO:<"a b"@x.test> NOTIFY=NEVER ORCPT=rfc822;q+40r@x.test`)
	if out != `RCPT TO:<"a b"@x.test> NOTIFY=NEVER` || o == nil || o.addr != "q@r@x.test" {
		t.Errorf("got %q, %+v", out, o)
	}
}

// Commands pipelined behind STARTTLS are never run inside TLS (RFC 3207
// §5): the connection is closed.
func TestPipelinedAfterStartTLSRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := dialRaw(t, h.subm)
	r.send("EHLO client.test\r\n")
	r.expect("250")
	r.send("STARTTLS\r\nMAIL FROM:<news@news.example.org>\r\n")
	r.closed("554 5.5.1")
}

func plainIR(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// FuzzORCPT: the reader of ORCPT and of RCPT lines never panics, never
// returns control characters or invalid UTF-8, and never removes anything
// but one ORCPT parameter.
func FuzzORCPT(f *testing.F) {
	for _, s := range []string{"rfc822;ren+C3+A9e@dest.test", "utf-8;ren\\x{E9}e@d.test", "utf-8;renée@d.test", "rfc822;+", "utf-8;\\x{110000}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if a, _, err := decodeORCPT(v); err == nil && (!utf8.ValidString(a) || strings.ContainsFunc(a, isControl)) {
			t.Fatalf("%q decoded to %q", v, a)
		}
		line := "RCPT TO:<a@b.test> ORCPT=" + v
		out, o := stripORCPT(line)
		if o == nil {
			if out != line {
				t.Fatalf("%q became %q", line, out)
			}
			return
		}
		want := strings.Fields(line)
		want = append(want[:2:2], want[3:]...)
		if got := strings.Fields(out); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("%q became %q", line, out)
		}
	})
}
