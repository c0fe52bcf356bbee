package dsn

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/sealgate/sealgate/mailtext"
)

// field is one header field whose value is already safe (no CR or LF).
type field struct{ name, value string }

// part is one body part of the report.
type part struct {
	header []field
	body   []byte
}

// dateFormat is the RFC 5322 §3.3 date-time.
const dateFormat = "Mon, 02 Jan 2006 15:04:05 -0700"

// newBoundary returns a random multipart boundary that does not occur in
// the returned original.
func newBoundary(original []byte) (string, error) {
	for range 3 {
		b := mailtext.Boundary()
		if !bytes.Contains(original, []byte(b)) {
			return b, nil
		}
	}
	return "", fmt.Errorf("dsn: no usable MIME boundary")
}

func writeOuterHeader(b *bytes.Buffer, n notice, boundary string) {
	subject := "Undelivered mail"
	switch {
	case n.delay:
		subject = "Delayed mail"
	case n.success():
		subject = "Delivery report"
	}
	writeFields(b, []field{
		{"From", "Mail Delivery System <" + n.from + ">"},
		{"To", "<" + n.to + ">"},
		{"Subject", subject},
		{"Date", n.date.Format(dateFormat)},
		{"Message-ID", "<" + n.messageID + ">"},
		{"Auto-Submitted", "auto-replied"},
		{"MIME-Version", "1.0"},
		{"Content-Type", `multipart/report; report-type=delivery-status; boundary="` + boundary + `"`},
	})
	b.WriteString("\r\n")
}

func writePart(b *bytes.Buffer, boundary string, p part) {
	fmt.Fprintf(b, "\r\n--%s\r\n", boundary)
	writeFields(b, p.header)
	b.WriteString("\r\n")
	b.Write(p.body)
}

// writeFields writes header fields, folding long values at spaces
// (RFC 5322 §2.2.3). Values never contain CR or LF.
func writeFields(b *bytes.Buffer, fields []field) {
	for _, f := range fields {
		line := f.name + ":"
		for _, w := range strings.Split(f.value, " ") {
			if len(line) > len(f.name)+1 && len(line)+1+len(w) > 78 {
				b.WriteString(line + "\r\n")
				line = ""
			}
			line += " " + w
		}
		b.WriteString(line + "\r\n")
	}
}

// humanPart is the fixed explanation for people. It names the recipients,
// their status codes and what the receiving server said (its sanitised
// diagnostic), never anything from the message itself.
func humanPart(n notice) part {
	var t strings.Builder
	fmt.Fprintf(&t, "This is the mail system at %s.\r\n\r\n", n.mta)
	if n.delay {
		t.WriteString("Your message has not yet been delivered to the recipients below.\r\n" +
			"Delivery will be tried again; you do not need to send it again.\r\n" +
			"You will be told if it finally cannot be delivered.\r\n")
	} else if n.success() {
		t.WriteString("Your message was handed on to the recipients below as you asked\r\n" +
			"to be told. A recipient marked \"relayed\" went to a mail system\r\n" +
			"that does not offer delivery notifications: you will get no\r\n" +
			"further notice about it.\r\n")
	} else {
		t.WriteString("Your message could not be delivered to some or all of the\r\n" +
			"recipients below.\r\n")
	}
	t.WriteString("\r\nIts subject and contents are not repeated here, to protect\r\n" +
		"the information it may hold. " + returnedNote(n.full) + "\r\n")
	for _, r := range n.rcpts {
		fmt.Fprintf(&t, "<%s>: %s (%s)\r\n", r.addr, r.action, r.status)
		if _, said, ok := strings.Cut(r.diagnostic, ";"); ok && strings.TrimSpace(said) != "" {
			// The remote reply as the queue kept it: addresses, quoted
			// passages and numbers already stripped.
			fmt.Fprintf(&t, "    the receiving server said: %s\r\n", strings.TrimSpace(said))
		}
	}
	charset := "us-ascii"
	if !isASCII(t.String()) {
		charset = "utf-8"
	}
	return part{header: []field{
		{"Content-Type", "text/plain; charset=" + charset},
		{"Content-Transfer-Encoding", transferEncoding([]byte(t.String()))},
	}, body: []byte(t.String())}
}

func returnedNote(full bool) string {
	if full {
		return "The complete\r\nmessage is attached for your reference.\r\n"
	}
	return "Only its header\r\nsection is attached, for your reference.\r\n"
}

// statusPart is the message/delivery-status part (RFC 3464 §2.1), or
// message/global-delivery-status (RFC 6533) when an address is non-ASCII.
func statusPart(n notice) part {
	var b bytes.Buffer
	per := []field{{"Reporting-MTA", "dns; " + n.mta}}
	if n.envID != "" {
		per = append(per, field{"Original-Envelope-Id", n.envID})
	}
	if n.queueID != "" {
		per = append(per, field{"X-Sealgate-Queue-ID", n.queueID})
	}
	if !n.arrival.IsZero() {
		per = append(per, field{"Arrival-Date", n.arrival.Format(dateFormat)})
	}
	writeFields(&b, per)
	for _, r := range n.rcpts {
		b.WriteString("\r\n")
		writeFields(&b, recipientFields(r))
	}
	ctype := "message/delivery-status"
	if !isASCII(b.String()) {
		ctype = "message/global-delivery-status"
	}
	return part{header: []field{
		{"Content-Type", ctype},
		{"Content-Transfer-Encoding", transferEncoding(b.Bytes())},
	}, body: b.Bytes()}
}

// recipientFields are the per-recipient fields of RFC 3464 §2.3.
func recipientFields(r rcpt) []field {
	var fs []field
	if r.orcpt != "" {
		fs = append(fs, field{"Original-Recipient", r.orcpt})
	}
	fs = append(fs,
		field{"Final-Recipient", addrType(r.addr) + "; " + r.addr},
		field{"Action", r.action},
		field{"Status", r.status})
	if r.remoteMTA != "" {
		fs = append(fs, field{"Remote-MTA", "dns; " + r.remoteMTA})
	}
	if r.diagnostic != "" {
		fs = append(fs, field{"Diagnostic-Code", r.diagnostic})
	}
	if !r.last.IsZero() {
		fs = append(fs, field{"Last-Attempt-Date", r.last.Format(dateFormat)})
	}
	return fs
}

// addrType is rfc822 for ASCII addresses and utf-8 (RFC 6533 §3) otherwise.
func addrType(a string) string {
	if isASCII(a) {
		return "rfc822"
	}
	return "utf-8"
}

// originalPart returns the original: its header section as
// text/rfc822-headers, or all of it as message/rfc822 (FULL); the RFC 6533
// global types when its header section has non-ASCII characters.
func originalPart(n notice) part {
	ctype := "text/rfc822-headers"
	switch {
	case n.full && n.utf8Hdr:
		ctype = "message/global"
	case n.full:
		ctype = "message/rfc822"
	case n.utf8Hdr:
		ctype = "message/global-headers"
	}
	return part{header: []field{
		{"Content-Type", ctype},
		{"Content-Description", returnedDescription(n.full)},
		{"Content-Transfer-Encoding", transferEncoding(n.original)},
	}, body: n.original}
}

func returnedDescription(full bool) string {
	if full {
		return "Original message"
	}
	return "Original message headers"
}

// success reports whether every recipient of n was delivered, relayed or
// expanded: a success report, not a failure notice.
func (n notice) success() bool {
	for _, r := range n.rcpts {
		switch r.action {
		case "delivered", "relayed", "expanded":
		default:
			return false
		}
	}
	return len(n.rcpts) > 0
}

// transferEncoding is 7bit for ASCII text and 8bit otherwise.
func transferEncoding(p []byte) string {
	if isASCII(string(p)) {
		return "7bit"
	}
	return "8bit"
}
