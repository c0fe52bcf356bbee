package dsn

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

const originalMsg = "From: doctor@example-clinic.org\r\n" +
	"To: patient@example.net\r\n" +
	"Subject: Your HIV test results\r\n" +
	"Message-ID: <orig-1@example-clinic.org>\r\n" +
	"\r\n" +
	"Dear patient, the result is POSITIVE-BODY-MARKER.\r\n"

func baseReport() Report {
	return Report{
		ReportingMTA: "mx-out.example-clinic.org",
		EnvID:        "env-42",
		ArrivalDate:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		QueueID:      "0a1b2c3d",
		To:           "doctor@example-clinic.org",
		Recipients: []Recipient{{
			Addr:        "patient@example.net",
			ORCPT:       "rfc822;Patient@Example.net",
			Status:      "5.1.1",
			RemoteMTA:   "mx.example.net",
			Diagnostic:  "smtp; 550 5.1.1 user unknown",
			LastAttempt: time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC),
		}, {
			Addr:   "nurse@example.net",
			Status: "5.4.7",
		}},
		Original: []byte(originalMsg),
		Date:     time.Date(2026, 1, 2, 5, 0, 0, 0, time.UTC),
	}
}

// parsed is a built notification read back with go-message.
type parsed struct {
	header   message.Header
	types    []string
	bodies   [][]byte
	perMsg   textproto.Header
	perRcpts []textproto.Header
}

func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatal("bare LF in the notification")
	}
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("message.Read: %v", err)
	}
	p := parsed{header: e.Header}
	mr := e.MultipartReader()
	if mr == nil {
		t.Fatal("not multipart")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		ct, _, _ := part.Header.ContentType()
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatal(err)
		}
		p.types = append(p.types, ct)
		p.bodies = append(p.bodies, body)
	}
	if len(p.bodies) > 1 {
		p.perMsg, p.perRcpts = readStatus(t, p.bodies[1])
	}
	return p
}

// readStatus splits a delivery-status body into its per-message and
// per-recipient field groups.
func readStatus(t *testing.T, body []byte) (textproto.Header, []textproto.Header) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(body))
	var groups []textproto.Header
	for {
		if _, err := br.Peek(1); err == io.EOF {
			break
		}
		h, err := textproto.ReadHeader(br)
		if err != nil {
			t.Fatalf("delivery-status group %d: %v", len(groups), err)
		}
		groups = append(groups, h)
	}
	if len(groups) < 2 {
		t.Fatalf("delivery-status has %d groups", len(groups))
	}
	return groups[0], groups[1:]
}

func build(t *testing.T, r Report) parsed {
	t.Helper()
	raw, err := Build(r)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return parse(t, raw)
}

func TestBuildStructure(t *testing.T) {
	t.Parallel()
	p := build(t, baseReport())
	ct, params, err := p.header.ContentType()
	if err != nil || ct != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type = %q %v %v", ct, params, err)
	}
	want := []string{"text/plain", "message/delivery-status", "text/rfc822-headers"}
	if strings.Join(p.types, ",") != strings.Join(want, ",") {
		t.Fatalf("parts = %v, want %v", p.types, want)
	}
	for k, v := range map[string]string{
		"Subject":        "Undelivered mail",
		"Auto-Submitted": "auto-replied",
		"To":             "<doctor@example-clinic.org>",
		"From":           "Mail Delivery System <postmaster@mx-out.example-clinic.org>",
		"Date":           "Fri, 02 Jan 2026 05:00:00 +0000",
		"MIME-Version":   "1.0",
	} {
		if got := p.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if id := p.header.Get("Message-ID"); !strings.HasSuffix(id, "@mx-out.example-clinic.org>") {
		t.Errorf("Message-ID = %q", id)
	}
}

func TestBuildStatusFields(t *testing.T) {
	t.Parallel()
	p := build(t, baseReport())
	for k, v := range map[string]string{
		"Reporting-MTA":        "dns; mx-out.example-clinic.org",
		"Original-Envelope-Id": "env-42",
		"Arrival-Date":         "Fri, 02 Jan 2026 03:04:05 +0000",
		"X-Sealgate-Queue-ID":  "0a1b2c3d",
	} {
		if got := p.perMsg.Get(k); got != v {
			t.Errorf("per-message %s = %q, want %q", k, got, v)
		}
	}
	if len(p.perRcpts) != 2 {
		t.Fatalf("%d recipient groups, want 2", len(p.perRcpts))
	}
	for k, v := range map[string]string{
		"Original-Recipient": "rfc822; Patient@Example.net",
		"Final-Recipient":    "rfc822; patient@example.net",
		"Action":             "failed",
		"Status":             "5.1.1",
		"Remote-MTA":         "dns; mx.example.net",
		"Diagnostic-Code":    "smtp; 550 5.1.1 user unknown",
		"Last-Attempt-Date":  "Fri, 02 Jan 2026 04:00:00 +0000",
	} {
		if got := p.perRcpts[0].Get(k); got != v {
			t.Errorf("recipient %s = %q, want %q", k, got, v)
		}
	}
	second := p.perRcpts[1]
	if second.Get("Status") != "5.4.7" || second.Has("Remote-MTA") || second.Has("Diagnostic-Code") ||
		second.Has("Original-Recipient") || second.Has("Last-Attempt-Date") {
		t.Errorf("second recipient fields = %v", second.Map())
	}
}

func TestBuildHDRSReturnsOnlyHeaders(t *testing.T) {
	t.Parallel()
	for _, ret := range []string{"", "HDRS", "hdrs"} {
		r := baseReport()
		r.Ret = ret
		raw, err := Build(r)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("POSITIVE-BODY-MARKER")) {
			t.Errorf("Ret %q: body bytes returned", ret)
		}
		p := parse(t, raw)
		if p.types[2] != "text/rfc822-headers" || !bytes.Contains(p.bodies[2], []byte("Message-ID: <orig-1@example-clinic.org>")) {
			t.Errorf("Ret %q: returned part %s %q", ret, p.types[2], p.bodies[2])
		}
	}
}

func TestBuildFULLReturnsMessage(t *testing.T) {
	t.Parallel()
	r := baseReport()
	r.Ret = "FULL"
	p := build(t, r)
	if p.types[2] != "message/rfc822" {
		t.Fatalf("returned part type %q", p.types[2])
	}
	if string(p.bodies[2]) != originalMsg {
		t.Errorf("returned message = %q, want the original", p.bodies[2])
	}
}

func TestBuildNoOriginalSubjectOutside(t *testing.T) {
	t.Parallel()
	for _, ret := range []string{"HDRS", "FULL"} {
		r := baseReport()
		r.Ret = ret
		p := build(t, r)
		var outer bytes.Buffer
		if err := textproto.WriteHeader(&outer, p.header.Header); err != nil {
			t.Fatal(err)
		}
		// The Message-ID and the MIME boundary are random base32, which
		// spells "HIV" about once in 700 headers: look at the header
		// without those two values.
		header := outer.Bytes()
		if id := p.header.Get("Message-ID"); id != "" {
			header = bytes.ReplaceAll(header, []byte(id), []byte("<random-id>"))
		}
		if _, params, err := p.header.ContentType(); err == nil && params["boundary"] != "" {
			header = bytes.ReplaceAll(header, []byte(params["boundary"]), []byte("random-boundary"))
		}
		for _, where := range [][]byte{header, p.bodies[0], p.bodies[1]} {
			if bytes.Contains(where, []byte("HIV")) || bytes.Contains(where, []byte("POSITIVE")) {
				t.Errorf("Ret %s: original subject or body outside the returned part: %q", ret, where)
			}
		}
	}
}

func TestBuildDelay(t *testing.T) {
	t.Parallel()
	r := baseReport()
	r.Delay = true
	r.Recipients = []Recipient{{Addr: "patient@example.net", Status: "4.4.1"}}
	p := build(t, r)
	if got := p.header.Get("Subject"); got != "Delayed mail" {
		t.Errorf("Subject = %q", got)
	}
	if got := p.perRcpts[0].Get("Action"); got != "delayed" {
		t.Errorf("Action = %q, want delayed", got)
	}
	if !bytes.Contains(p.bodies[0], []byte("not yet been delivered")) {
		t.Errorf("human part does not say the mail is delayed: %q", p.bodies[0])
	}
}

func TestBuildDiagnosticInjection(t *testing.T) {
	t.Parallel()
	r := baseReport()
	r.Recipients[0].Diagnostic = "smtp; 550 no\r\nSubject: pwned\r\n\r\nInjected-Body\x00\x1b[31m"
	r.Recipients[0].ORCPT = "rfc822;a@b.example\r\nAction: delivered"
	r.EnvID = "e\r\nBcc: x@evil.test"
	raw, err := Build(r)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, raw)
	if p.header.Get("Subject") != "Undelivered mail" || p.header.Has("Bcc") {
		t.Errorf("outer header injected: %v", p.header.Map())
	}
	rc := p.perRcpts[0]
	if rc.Has("Subject") || len(rc.Values("Action")) != 1 || rc.Get("Action") != "failed" {
		t.Errorf("recipient fields injected: %v", rc.Map())
	}
	d := rc.Get("Diagnostic-Code")
	if d != "smtp; 550 no Subject: pwned Injected-Body [31m" {
		t.Errorf("Diagnostic-Code = %q", d)
	}
	if p.perMsg.Has("Bcc") || p.perMsg.Get("Original-Envelope-Id") != "e Bcc: x@evil.test" {
		t.Errorf("per-message fields = %v", p.perMsg.Map())
	}
	if bytes.ContainsAny(raw, "\x00\x1b") {
		t.Error("control characters reach the notification")
	}
}

func TestBuildDiagnosticCapped(t *testing.T) {
	t.Parallel()
	r := baseReport()
	r.Recipients[0].Diagnostic = "550 " + strings.Repeat("é", 2000)
	p := build(t, r)
	d := p.perRcpts[0].Get("Diagnostic-Code")
	if !strings.HasPrefix(d, "smtp; 550 ???") || len(d) > 510 {
		t.Errorf("Diagnostic-Code = %.40q… (%d bytes)", d, len(d))
	}
	for _, line := range strings.Split(string(p.bodies[1]), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d octets", len(line))
		}
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Report)
		want   error
	}{
		{"null sender", func(r *Report) { r.To = "" }, ErrNullSender},
		{"no recipients", func(r *Report) { r.Recipients = nil }, ErrNoRecipients},
		{"bad To", func(r *Report) { r.To = "a@b@c.example" }, ErrInvalid},
		{"bad From", func(r *Report) { r.From = "x\r\n@c.example" }, ErrInvalid},
		{"bad MTA", func(r *Report) { r.ReportingMTA = "mx\r\nX: y" }, ErrInvalid},
		{"bad Ret", func(r *Report) { r.Ret = "BODY" }, ErrInvalid},
		{"bad status", func(r *Report) { r.Recipients[0].Status = "550" }, ErrInvalid},
		{"bad action", func(r *Report) { r.Recipients[0].Action = "bounced" }, ErrInvalid},
		{"bad recipient", func(r *Report) { r.Recipients[0].Addr = "user%evil.test@gw.example" }, ErrInvalid},
		{"bad remote MTA", func(r *Report) { r.Recipients[0].RemoteMTA = "mx\r\nX: y" }, ErrInvalid},
		{"bad queue ID", func(r *Report) { r.QueueID = "q\r\n" }, ErrInvalid},
		{"bad message ID", func(r *Report) { r.MessageID = "a>\r\nX: y@h" }, ErrInvalid},
	}
	for _, tt := range tests {
		r := baseReport()
		tt.change(&r)
		out, err := Build(r)
		if !errors.Is(err, tt.want) || out != nil {
			t.Errorf("%s: Build = %d bytes, %v; want %v", tt.name, len(out), err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "example") {
			t.Errorf("%s: error %q echoes an address", tt.name, err)
		}
	}
}

func TestBuildStableMessageID(t *testing.T) {
	t.Parallel()
	r := baseReport()
	r.MessageID = "dsn.0a1b2c3d@mx-out.example-clinic.org"
	a, err1 := Build(r)
	p := parse(t, a)
	if err1 != nil || p.header.Get("Message-ID") != "<dsn.0a1b2c3d@mx-out.example-clinic.org>" {
		t.Errorf("Message-ID = %q, %v", p.header.Get("Message-ID"), err1)
	}
}

func TestBuildUTF8Addresses(t *testing.T) {
	t.Parallel()
	r := baseReport()
	r.Recipients = []Recipient{{Addr: "пациент@пример.рф", Status: "5.1.1"}}
	p := build(t, r)
	if p.types[1] != "message/global-delivery-status" {
		t.Errorf("status part type %q", p.types[1])
	}
	if got := p.perRcpts[0].Get("Final-Recipient"); got != "utf-8; пациент@пример.рф" {
		t.Errorf("Final-Recipient = %q", got)
	}
}

func TestBuildMalformedOriginalHDRS(t *testing.T) {
	t.Parallel()
	r := baseReport()
	// No blank line: the body starts with a line that is not a field.
	r.Original = []byte("Subject: x\nSECRET-BODY line without colon\nMore: body\n")
	raw, err := Build(r)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, raw)
	if bytes.Contains(raw, []byte("SECRET-BODY")) || string(p.bodies[2]) != "Subject: x\r\n" {
		t.Errorf("returned headers = %q", p.bodies[2])
	}
}

// TestReturnedHeaders: in HDRS mode the notification returns the header
// fields up to the empty line or the first line that is not one.
func TestReturnedHeaders(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"A: 1\r\n\r\nbody\r\n":            "A: 1\r\n",
		"A: 1\r\n folded\r\nB: 2\r\n\r\n": "A: 1\r\n folded\r\nB: 2\r\n",
		" leading-continuation\r\n":       "",
		"\r\nbody only\r\n":               "",
		"A: 1\r\nno colon\r\nB: 2\r\n":    "A: 1\r\n",
		"A: 1":                            "A: 1\r\n", // line ends made CRLF first
		"Bad Name: x\r\n":                 "",
	}
	for in, want := range tests {
		if got := string(returnedSection([]byte(in), false)); got != want {
			t.Errorf("returnedSection(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		utf8 bool
		want string
	}{
		{"a\r\nb", 100, false, "a b"},
		{"  a \t\t b  ", 100, false, "a b"},
		{"é\xff", 100, false, "?"},
		{"é", 100, true, "é"},
		{"a\u202eb\u200bc", 100, true, "a b c"},
		{"abcdef", 3, false, "abc"},
		{"ab cd", 3, false, "ab"},
		{"aéé", 4, true, "aé"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in, tt.max, tt.utf8); got != tt.want {
			t.Errorf("sanitize(%q, %d, %v) = %q, want %q", tt.in, tt.max, tt.utf8, got, tt.want)
		}
	}
}
