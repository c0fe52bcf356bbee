package dsn

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/sealgate/sealgate/mailtext"
)

// field is one header field whose value is already safe (no CR or LF).
type field = mailtext.Field

// dateFormat is the RFC 5322 §3.3 date-time.
const dateFormat = time.RFC1123Z

// compose writes the notification: the outer header, a multipart/report
// with the three parts, through the composer every message sealgate
// writes itself shares.
func compose(n notice) ([]byte, error) {
	subject := "Undelivered mail"
	switch {
	case n.delay:
		subject = "Delayed mail"
	case n.success():
		subject = "Delivery report"
	}
	return mailtext.Compose(mailtext.Message{
		From: "Mail Delivery System <" + n.from + ">", To: "<" + n.to + ">", Subject: subject,
		Date: n.date, MessageID: "<" + n.messageID + ">",
		Fields: []field{{Name: "Auto-Submitted", Value: "auto-replied"}},
		Body: mailtext.Part{Type: "multipart/report; report-type=delivery-status",
			Preamble: "This is a MIME-encapsulated delivery status notification.\r\n",
			Parts:    []mailtext.Part{humanPart(n), statusPart(n), originalPart(n)}},
	})
}

// humanPart is the fixed explanation for people. It names the recipients,
// their status codes and what the receiving server said (its sanitised
// diagnostic), never anything from the message itself.
func humanPart(n notice) mailtext.Part {
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
		typ, said, ok := strings.Cut(r.diagnostic, ";")
		switch {
		case !ok || strings.TrimSpace(said) == "":
		case typ == LocalType:
			fmt.Fprintf(&t, "    not sent by this mail system: %s\r\n", strings.TrimSpace(said))
		default:
			// The remote reply as the queue kept it: addresses, quoted
			// passages and numbers already stripped.
			fmt.Fprintf(&t, "    the receiving server said: %s\r\n", strings.TrimSpace(said))
		}
	}
	charset := "us-ascii"
	if !isASCII(t.String()) {
		charset = "utf-8"
	}
	return mailtext.Part{Type: "text/plain; charset=" + charset, Body: []byte(t.String())}
}

func returnedNote(full bool) string {
	if full {
		return "The complete\r\nmessage is attached for your reference.\r\n"
	}
	return "Only its header\r\nsection is attached, for your reference.\r\n"
}

// statusPart is the message/delivery-status part (RFC 3464 §2.1), or
// message/global-delivery-status (RFC 6533) when an address is non-ASCII.
func statusPart(n notice) mailtext.Part {
	var b bytes.Buffer
	per := []field{{Name: "Reporting-MTA", Value: "dns; " + n.mta}}
	if n.envID != "" {
		per = append(per, field{Name: "Original-Envelope-Id", Value: n.envID})
	}
	if n.queueID != "" {
		per = append(per, field{Name: "X-Sealgate-Queue-ID", Value: n.queueID})
	}
	if !n.arrival.IsZero() {
		per = append(per, field{Name: "Arrival-Date", Value: n.arrival.Format(dateFormat)})
	}
	mailtext.WriteFields(&b, per)
	for _, r := range n.rcpts {
		b.WriteString("\r\n")
		mailtext.WriteFields(&b, recipientFields(r))
	}
	ctype := "message/delivery-status"
	if !isASCII(b.String()) {
		ctype = "message/global-delivery-status"
	}
	return mailtext.Part{Type: ctype, Body: b.Bytes()}
}

// recipientFields are the per-recipient fields of RFC 3464 §2.3.
func recipientFields(r rcpt) []field {
	var fs []field
	if r.orcpt != "" {
		fs = append(fs, field{Name: "Original-Recipient", Value: r.orcpt})
	}
	fs = append(fs,
		field{Name: "Final-Recipient", Value: addrType(r.addr) + "; " + r.addr},
		field{Name: "Action", Value: r.action},
		field{Name: "Status", Value: r.status})
	if r.remoteMTA != "" {
		fs = append(fs, field{Name: "Remote-MTA", Value: "dns; " + r.remoteMTA})
	}
	if r.diagnostic != "" {
		fs = append(fs, field{Name: "Diagnostic-Code", Value: r.diagnostic})
	}
	if !r.last.IsZero() {
		fs = append(fs, field{Name: "Last-Attempt-Date", Value: r.last.Format(dateFormat)})
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
func originalPart(n notice) mailtext.Part {
	ctype := "text/rfc822-headers"
	switch {
	case n.full && n.utf8Hdr:
		ctype = "message/global"
	case n.full:
		ctype = "message/rfc822"
	case n.utf8Hdr:
		ctype = "message/global-headers"
	}
	return mailtext.Part{Type: ctype, Body: n.original,
		Fields: []field{{Name: "Content-Description", Value: returnedDescription(n.full)}}}
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
