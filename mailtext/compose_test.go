package mailtext

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"
)

// A composed message parses with go-message: the top fields once each, a
// nested multipart with its parts decoded back to what went in, the
// preamble before the first part, and CRLF line endings throughout.
func TestComposeParses(t *testing.T) {
	logo := bytes.Repeat([]byte{0, 1, 2, 0xff}, 100)
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	msg, err := Compose(Message{
		From: Address("Clinic Ä, St. Mary's", "noreply@clinic.example"), To: Address("", "pat@example.org"),
		Subject: "Ihre Nachricht wartet – bitte öffnen", Date: at, Host: "gw.example",
		Fields: []Field{{"Auto-Submitted", "auto-generated"}, {"Content-Language", "de"}},
		Body: Part{Type: "multipart/alternative", Preamble: "MIME message.\r\n", Parts: []Part{
			{Type: "text/plain; charset=utf-8", Encoding: QuotedPrintable, Body: []byte("Grüße\r\nzweite Zeile mit = Zeichen\r\n")},
			{Type: "multipart/related", Parts: []Part{
				{Type: "text/html; charset=utf-8", Encoding: QuotedPrintable, Body: []byte("<p>Grüße</p>")},
				{Type: "image/png", Encoding: Base64, Body: logo, Fields: []Field{{"Content-ID", "<logo@notice>"}}},
			}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(msg, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatal("a bare LF in the composed message")
	}
	e, err := gomessage.Read(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Auto-Submitted", "Content-Language"} {
		if n := len(e.Header.Values(k)); n != 1 {
			t.Errorf("%s present %d times", k, n)
		}
	}
	if s, _ := e.Header.Text("Subject"); s != "Ihre Nachricht wartet – bitte öffnen" {
		t.Errorf("Subject decodes to %q", s)
	}
	if d := e.Header.Get("Date"); d != at.Format(time.RFC1123Z) {
		t.Errorf("Date %q", d)
	}
	if id := e.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@gw.example>") {
		t.Errorf("Message-ID %q", id)
	}
	if !bytes.Contains(msg, []byte("\r\n\r\nMIME message.\r\n\r\n--sealgate-")) {
		t.Error("the preamble is not before the first boundary")
	}
	var got []string
	walk(t, e, func(ctype string, body []byte) {
		got = append(got, ctype)
		switch ctype {
		case "text/plain":
			if string(body) != "Grüße\r\nzweite Zeile mit = Zeichen\r\n" {
				t.Errorf("text part %q", body)
			}
		case "image/png":
			if !bytes.Equal(body, logo) {
				t.Error("the logo does not decode to what went in")
			}
		}
	})
	if strings.Join(got, ",") != "text/plain,text/html,image/png" {
		t.Fatalf("leaves %v", got)
	}
}

func walk(t *testing.T, e *gomessage.Entity, leaf func(string, []byte)) {
	t.Helper()
	if mr := e.MultipartReader(); mr != nil {
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			walk(t, p, leaf)
		}
	}
	ctype, _, _ := e.Header.ContentType()
	body, err := io.ReadAll(e.Body)
	if err != nil {
		t.Fatal(err)
	}
	leaf(ctype, body)
}

// A value with line breaks cannot add a field; long values are folded;
// a 7bit/8bit leaf keeps its content as it is, last line break included.
func TestComposeFieldsAndRawParts(t *testing.T) {
	raw := []byte("Subject: kept\r\nX-Original: yes\r\n\r\n")
	msg, err := Compose(Message{From: "<a@b.example>", To: "<c@d.example>",
		Subject: "hello\r\nBcc: evil@attacker.example", Host: "gw.example",
		Fields: []Field{{"X-Long", strings.Repeat("word ", 40)}},
		Body: Part{Type: "multipart/report; report-type=delivery-status", Parts: []Part{
			{Type: "text/plain; charset=us-ascii", Body: []byte("ascii\r\n")},
			{Type: "text/rfc822-headers", Body: raw, Fields: []Field{{"Content-Description", "Original message headers"}}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := SplitHeader(msg)
	if bytes.Contains(head, []byte("\r\nBcc:")) {
		t.Fatalf("a line break in the Subject started a field:\n%s", head)
	}
	for _, line := range strings.Split(string(head), "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
	e, err := gomessage.Read(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	walk(t, e, func(_ string, b []byte) { bodies = append(bodies, b) })
	if len(bodies) != 2 || string(bodies[0]) != "ascii\r\n" || !bytes.Equal(bodies[1], raw) {
		t.Fatalf("parts %q", bodies)
	}
	if !bytes.Contains(msg, []byte("Content-Transfer-Encoding: 7bit\r\nContent-Description: Original message headers\r\n")) {
		t.Error("part fields are not written in order")
	}
	if _, err := Compose(Message{Body: Part{Type: "multipart/mixed"}}); err == nil {
		t.Error("a multipart without parts was composed")
	}
	if _, err := Compose(Message{Body: Part{Type: "text/plain", Encoding: "x-unknown"}}); err == nil {
		t.Error("an unknown transfer encoding was accepted")
	}
}

// Base64 lines are 76 characters, the last shorter, each ending CRLF.
func TestBase64Lines(t *testing.T) {
	out := string(Base64Lines(bytes.Repeat([]byte{0}, 120))) // 160 characters of base64
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	if len(lines) != 3 || len(lines[0]) != 76 || len(lines[1]) != 76 || len(lines[2]) != 8 || !strings.HasSuffix(out, "\r\n") {
		t.Errorf("bad wrapping: %q", out)
	}
}
