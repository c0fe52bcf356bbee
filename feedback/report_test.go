package feedback

import (
	"bytes"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/bounce"
)

func parseFile(t *testing.T, name string) *Report {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rep
}

// A Postfix-style DSN for an unknown user is a hard bounce with 5.1.1
// (its Diagnostic-Code is not of type smtp, so it has no reply code).
func TestParsePostfixDSN(t *testing.T) {
	rep := parseFile(t, "postfix-unknown-user.eml")
	class, st := rep.Outcome()
	if rep.Kind != KindDSN || class != bounce.Hard || st.Status != "5.1.1" || st.Action != "failed" || st.Code != 0 {
		t.Fatalf("kind %s class %q status %+v", rep.Kind, class, st)
	}
}

// An ARF report gives its feedback type and the quoted message's return
// path and unsubscribe link.
func TestParseARF(t *testing.T) {
	rep := parseFile(t, "arf-abuse.eml")
	if rep.Kind != KindARF || rep.FeedbackType != "abuse" || rep.OriginalMailFrom != "<bounces+token@bounce.clinic.example.org>" ||
		rep.ReturnPath != "<bounces+token@bounce.clinic.example.org>" || !strings.Contains(rep.ListUnsubscribe, "/u/TOKEN") {
		t.Fatalf("%+v", rep)
	}
	if c, _ := rep.Outcome(); c != bounce.None {
		t.Errorf("an ARF report has DSN class %q", c)
	}
}

func dsnWith(blocks string) string {
	return "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n" + blocks + "\r\n--b--\r\n"
}

// The block that decides is the first failed one, else the first delayed
// one; the class follows package bounce.
func TestOutcome(t *testing.T) {
	cases := []struct {
		blocks string
		class  bounce.Class
		status string
	}{
		{"Final-Recipient: rfc822; a@x\r\nAction: delayed\r\nStatus: 4.2.2\r\n", bounce.Soft, "4.2.2"},
		{"Final-Recipient: rfc822; a@x\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\nFinal-Recipient: rfc822; b@x\r\nAction: failed\r\nStatus: 5.2.2\r\n", bounce.Soft, "5.2.2"},
		{"Final-Recipient: rfc822; a@x\r\nAction: failed\r\nStatus: 5.7.1 (spam)\r\nDiagnostic-Code: smtp; 550 5.7.1 rejected\r\n", bounce.Policy, "5.7.1"},
		{"Final-Recipient: rfc822; a@x\r\nAction: failed\r\nStatus: junk\r\nDiagnostic-Code: smtp; 553 no\r\n", bounce.Hard, ""},
		{"Final-Recipient: rfc822; a@x\r\nAction: relayed\r\nStatus: 2.0.0\r\n", bounce.None, "2.0.0"},
		{"Final-Recipient: rfc822; a@x\r\nAction: failed\r\n", bounce.Other, ""},
	}
	for i, c := range cases {
		rep, err := Parse(strings.NewReader(dsnWith(c.blocks)))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		class, st := rep.Outcome()
		if class != c.class || st.Status != c.status {
			t.Errorf("case %d: %q %q, want %q %q", i, class, st.Status, c.class, c.status)
		}
	}
}

// Not a report is KindOther; a report without its status part, or an
// ARF without a feedback type, is malformed.
func TestParseOtherAndMalformed(t *testing.T) {
	if rep, err := Parse(strings.NewReader("Subject: Out of office\r\n\r\nAway until Monday.\r\n")); err != nil || rep.Kind != KindOther {
		t.Errorf("autoreply: %+v, %v", rep, err)
	}
	for _, m := range []string{
		"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n",
		"Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\nVersion: 1\r\n\r\n--b--\r\n",
		dsnWith(""),
	} {
		if rep, err := Parse(strings.NewReader(m)); err == nil {
			t.Errorf("malformed report read as %+v", rep)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"postfix-unknown-user.eml", "arf-abuse.eml"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(dsnWith("Action: failed\r\nStatus: 5.1.1\r\n")))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := Parse(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(rep.Recipients) > maxRecipients {
			t.Fatalf("%d recipient blocks", len(rep.Recipients))
		}
		rep.Outcome()
	})
}

// A DSN cut off inside its returned message still reads: the status part
// came before it. One cut off before its status part does not.
func TestParseTruncated(t *testing.T) {
	b, err := os.ReadFile("testdata/postfix-unknown-user.eml")
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(b, []byte("Subject: Flu shots"))
	rep, err := Parse(bytes.NewReader(b[:cut+5]))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := rep.Outcome(); c != bounce.Hard {
		t.Errorf("class %q, want hard", c)
	}
	early := bytes.Index(b, []byte("Reporting-MTA"))
	if _, err := Parse(bytes.NewReader(b[:early])); err == nil {
		t.Error("a DSN cut off before its status read without error")
	}
}

// TestParseSubject: the Subject of any message is read as a person's mail
// client may have written a List-Unsubscribe mailto: request: folded, or
// in encoded words that split the token, it comes back as one line with
// the token whole.
func TestParseSubject(t *testing.T) {
	const token = "Y2xpbmljLmV4YW1wbGUub3JnCnBhdEBleGFtcGxlLm5ldA.nL6OwB3bjYu3zmF03M9sjQScjtnzcuOBBGPGiDlNxR4"
	b64 := func(s string) string { return "=?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?=" }
	for name, subject := range map[string]string{
		"plain":   "unsubscribe " + token,
		"folded":  "unsubscribe\r\n " + token,
		"encoded": b64("unsubscribe "+token[:40]) + "\r\n " + b64(token[40:]),
	} {
		rep, err := Parse(strings.NewReader("From: pat@example.net\r\nSubject: " + subject + "\r\n\r\nunsubscribe\r\n"))
		if err != nil || rep.Kind != KindOther || rep.Subject != "unsubscribe "+token {
			t.Errorf("%s: %v %+v", name, err, rep)
		}
	}
}
