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
