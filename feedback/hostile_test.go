package feedback

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
)

// TestHostileHeaders runs the shared table of hostile headers through Parse:
// a message whose header does not read is ErrMalformed. Returned inside a
// DSN as the original message, the same header still gives the Return-Path
// that read before the fault (a continuation line first continues it), and
// the report is read.
func TestHostileHeaders(t *testing.T) {
	for _, c := range hostile.Headers() {
		if rep, err := Parse(bytes.NewReader(c.Msg)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: read as %+v, %v", c.Name, rep, err)
		}
		dsn := "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n" +
			"Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n" +
			"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nReturn-Path: <b+tok@bounce.example>\r\n" + string(c.Msg) + "\r\n--b--\r\n"
		rep, err := Parse(bytes.NewReader([]byte(dsn)))
		if err != nil || rep.Kind != KindDSN || len(rep.Recipients) != 1 || !strings.HasPrefix(rep.ReturnPath, "<b+tok@bounce.example>") {
			t.Errorf("%s, returned in a DSN: %+v, %v", c.Name, rep, err)
		}
	}
}

// TestHostileParts runs the shared table of hostile part headers through
// Parse, each made a DSN whose delivery-status part is the part that does
// not read (or, nested, lies past the report's parts): each is refused
// with ErrMalformed, though the status block would read were the part's
// header skipped.
func TestHostileParts(t *testing.T) {
	const status = "Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1"
	for _, c := range hostile.Parts() {
		m := string(c.Msg)
		m = strings.Replace(m, "multipart/mixed;", "multipart/report; report-type=delivery-status;", 1)
		if k := strings.LastIndex(m, "Content-Type: text/plain"); k >= 0 {
			m = m[:k] + "Content-Type: message/delivery-status" + m[k+len("Content-Type: text/plain"):]
		}
		m = strings.Replace(m, hostile.PHI, status, 1)
		if rep, err := Parse(strings.NewReader(m)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: read as %+v, %v", c.Name, rep, err)
		}
	}
	// The same DSN with a part header that reads is read.
	ok := "Content-Type: multipart/report; report-type=delivery-status; boundary=\"P\"\r\n\r\n" +
		"--P\r\nContent-Type: text/plain\r\n\r\nSee the note.\r\n--P\r\nContent-Type: message/delivery-status\r\nX-Note: fine\r\n\r\n" +
		status + "\r\n--P--\r\n"
	if rep, err := Parse(strings.NewReader(ok)); err != nil || len(rep.Recipients) != 1 || rep.Recipients[0].Status != "5.1.1" {
		t.Errorf("a readable DSN: %+v, %v", rep, err)
	}
}
