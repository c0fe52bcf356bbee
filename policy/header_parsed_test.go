package policy

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
	"github.com/sealgate/sealgate/mailtext"
)

// TestHostileHeadersAreProtected runs the shared table of hostile headers
// through the policy: a header that does not read whole is unreadable
// content, so the message is protected, never cleared; the health
// information after it is still found.
func TestHostileHeadersAreProtected(t *testing.T) {
	for _, c := range hostile.Headers() {
		v := checkBounded(t, c.Msg)
		if !v.Unreadable || !v.PHI || v.Action != ActionEncrypt {
			t.Errorf("%s: verdict %+v; want unreadable, PHI, encrypt", c.Name, v)
		}
		found := false
		for _, r := range v.Reasons {
			found = found || r.Detector == "unreadable_"+unreadStructure || r.Detector == "unreadable_"+unreadLimit
		}
		if !found {
			t.Errorf("%s: no unreadable reason for the header in %+v", c.Name, v.Reasons)
		}
	}
}

// TestCheckTakesTheParsedHeader: a message checked with the header smtpd
// read gets the verdict it gets when the policy reads the header itself.
func TestCheckTakesTheParsedHeader(t *testing.T) {
	eng := newTestEngine(t, Config{SubjectTags: []string{"[secure]"}})
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*.eml"))
	if len(paths) < 20 {
		t.Fatalf("found %d messages in testdata", len(paths))
	}
	msgs := [][]byte{[]byte("From: a@b.example\r\nSubject: [secure] x\r\n\r\nhello\r\n")}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, b)
	}
	for i, msg := range msgs {
		h, err := mailtext.ParseHeader(msg)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		in := Input{Sender: "a@b.example", Recipients: []string{"c@d.example"}}
		self, err1 := eng.Check(context.Background(), msg, in)
		in.Header = &h
		given, err2 := eng.Check(context.Background(), msg, in)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(self, given) {
			t.Errorf("message %d (%.40q): read here %+v, handed %+v", i, strings.SplitN(string(msg), "\n", 2)[0], self, given)
		}
	}
}

// TestCheckDoesNotReadTheHeaderAgain shows that the handed header is the one
// the policy reads: handed the header of another message of the same header
// length, it sees that message's Subject, not the tag in msg's own.
func TestCheckDoesNotReadTheHeaderAgain(t *testing.T) {
	eng := newTestEngine(t, Config{SubjectTags: []string{"[secure]"}})
	msg := []byte("Subject: [secure] aa\r\n\r\nhello\r\n")
	other, err := mailtext.ParseHeader([]byte("Subject: plain words\r\n\r\n"))
	if err != nil || other.BodyOffset() != strings.Index(string(msg), "hello") {
		t.Fatalf("%v, body at %d", err, other.BodyOffset())
	}
	if v, _ := eng.Check(context.Background(), msg, Input{}); v.SubjectTag != "[secure]" {
		t.Fatalf("read by the policy: tag %q", v.SubjectTag)
	}
	if v, _ := eng.Check(context.Background(), msg, Input{Header: &other}); v.SubjectTag != "" {
		t.Errorf("handed another header, the policy still found tag %q", v.SubjectTag)
	}
}

// TestHostileNestedHeaders: a message inside a message has its header read
// by the same parser within the same limits: each hostile header of the
// shared table, forwarded as a message/rfc822 part or attached as an .eml
// file, leaves the message unreadable and protected.
func TestHostileNestedHeaders(t *testing.T) {
	for _, c := range hostile.Headers() {
		forwarded := "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n" + string(c.Msg)
		attached := "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream; name=fwd.eml\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(c.Msg) + "\r\n"
		for _, msg := range []string{forwarded, attached} {
			v := checkBounded(t, []byte(msg))
			found := false
			for _, r := range v.Reasons {
				found = found || (r.Part == "1" || r.Part == "1.1") && strings.HasPrefix(r.Detector, "unreadable_")
			}
			if !v.Unreadable || !v.PHI || v.Action != ActionEncrypt || !found {
				t.Errorf("%s in %.40q: verdict %+v", c.Name, msg[52:], v)
			}
		}
	}
}
