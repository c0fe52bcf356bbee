package mailtext

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"time"
)

// Field is one header field of a message or a MIME part sealgate writes.
// Its value is made one line (CR, LF and NUL become spaces) and folded at
// spaces when it is long, so no value can start a field of its own.
type Field struct{ Name, Value string }

// Transfer encodings a Part can ask for.
const (
	// QuotedPrintable encodes text (RFC 2045 §6.7); line breaks become CRLF.
	QuotedPrintable = "quoted-printable"
	// Base64 encodes binary data in lines of 76 characters (RFC 2045 §6.8).
	Base64 = "base64"
)

// Part is one MIME entity of a message sealgate writes: a leaf with a body,
// or a multipart with parts.
type Part struct {
	// Type is the Content-Type without a boundary: "text/plain;
	// charset=utf-8", "multipart/alternative". A multipart gets its
	// boundary from the composer.
	Type string
	// Encoding is the Content-Transfer-Encoding of a leaf: QuotedPrintable
	// or Base64 encode Body; "7bit" and "8bit" write it as it is (CRLF
	// line endings already); "" chooses 7bit or 8bit by Body's content.
	Encoding string
	// Fields follow Content-Type and Content-Transfer-Encoding
	// (Content-ID, Content-Disposition, Content-Description).
	Fields []Field
	// Body is a leaf's content before encoding.
	Body []byte
	// Parts are a multipart's parts, and Preamble the text before the
	// first of them (for readers without MIME).
	Parts    []Part
	Preamble string
}

// Message is a message sealgate writes itself: a DSN, a portal notice, a
// portal code, receipt or reply, a TLS report.
type Message struct {
	// From and To are the header fields' values, addresses already
	// formatted (Address). Subject is encoded (RFC 2047) when it is not
	// ASCII.
	From, To, Subject string
	// Date is the Date field; zero means now.
	Date time.Time
	// MessageID is the Message-ID, angle brackets included; "" means a
	// fresh one at Host.
	MessageID string
	Host      string
	// Fields come after Message-ID and before MIME-Version
	// (Auto-Submitted, Content-Language, Reply-To and the like).
	Fields []Field
	// Body is the message's content, a leaf or a multipart.
	Body Part
}

// Compose writes m with CRLF line endings: From, To, Subject, Date,
// Message-ID, m.Fields, MIME-Version and then the body's MIME structure,
// each multipart with a fresh boundary that occurs in none of its parts.
func Compose(m Message) ([]byte, error) {
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := m.MessageID
	if id == "" {
		id = MessageID(m.Host)
	}
	var b bytes.Buffer
	WriteFields(&b, []Field{{"From", m.From}, {"To", m.To},
		{"Subject", mime.QEncoding.Encode("utf-8", OneLine(m.Subject))},
		{"Date", date.Format(time.RFC1123Z)}, {"Message-ID", id}})
	WriteFields(&b, m.Fields)
	WriteFields(&b, []Field{{"MIME-Version", "1.0"}})
	if err := writePart(&b, m.Body); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// writePart writes p's header fields, the empty line and its content.
func writePart(b *bytes.Buffer, p Part) error {
	if len(p.Parts) == 0 && strings.HasPrefix(p.Type, "multipart/") {
		return errors.New("mailtext: a multipart without parts")
	}
	if len(p.Parts) > 0 {
		return writeMultipart(b, p)
	}
	body, enc, err := encode(p)
	if err != nil {
		return err
	}
	WriteFields(b, append([]Field{{"Content-Type", p.Type}, {"Content-Transfer-Encoding", enc}}, p.Fields...))
	b.WriteString("\r\n")
	b.Write(body)
	return nil
}

// writeMultipart writes p's parts between boundaries (RFC 2046 §5.1.1):
// the CRLF before each delimiter belongs to the delimiter, so every
// part's content, its last line break included, is kept.
func writeMultipart(b *bytes.Buffer, p Part) error {
	parts := make([][]byte, len(p.Parts))
	for i, sub := range p.Parts {
		var pb bytes.Buffer
		if err := writePart(&pb, sub); err != nil {
			return err
		}
		parts[i] = pb.Bytes()
	}
	boundary, err := freshBoundary(parts)
	if err != nil {
		return err
	}
	WriteFields(b, append([]Field{{"Content-Type", p.Type + `; boundary="` + boundary + `"`}}, p.Fields...))
	b.WriteString("\r\n")
	b.WriteString(p.Preamble)
	for i, part := range parts {
		if i > 0 || p.Preamble != "" {
			b.WriteString("\r\n")
		}
		b.WriteString("--" + boundary + "\r\n")
		b.Write(part)
	}
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return nil
}

// freshBoundary returns a boundary that occurs in none of parts.
func freshBoundary(parts [][]byte) (string, error) {
	for range 3 {
		bd := Boundary()
		if !containsAny(parts, bd) {
			return bd, nil
		}
	}
	return "", errors.New("mailtext: no usable MIME boundary")
}

func containsAny(parts [][]byte, s string) bool {
	for _, p := range parts {
		if bytes.Contains(p, []byte(s)) {
			return true
		}
	}
	return false
}

// encode returns p's body in its transfer encoding, and that encoding.
func encode(p Part) ([]byte, string, error) {
	switch p.Encoding {
	case QuotedPrintable:
		var b bytes.Buffer
		w := quotedprintable.NewWriter(&b)
		if _, err := w.Write(p.Body); err != nil {
			return nil, "", err
		}
		if err := w.Close(); err != nil {
			return nil, "", err
		}
		return b.Bytes(), QuotedPrintable, nil
	case Base64:
		return Base64Lines(p.Body), Base64, nil
	case "":
		if isASCII(p.Body) {
			return p.Body, "7bit", nil
		}
		return p.Body, "8bit", nil
	case "7bit", "8bit":
		return p.Body, p.Encoding, nil
	}
	return nil, "", errors.New("mailtext: unknown transfer encoding " + p.Encoding)
}

// Base64Lines is data in base64, 76 characters a line, each ending CRLF
// (RFC 2045 §6.8).
func Base64Lines(data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	out := make([]byte, 0, len(enc)+len(enc)/76*2+2)
	for len(enc) > 76 {
		out = append(out, enc[:76]...)
		out = append(out, '\r', '\n')
		enc = enc[76:]
	}
	return append(append(out, enc...), '\r', '\n')
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// WriteFields writes header fields, each value made one line and folded
// at spaces before 78 characters where it can be (RFC 5322 §2.2.3).
func WriteFields(b *bytes.Buffer, fields []Field) {
	for _, f := range fields {
		line := f.Name + ":"
		for _, w := range strings.Split(OneLine(f.Value), " ") {
			if len(line) > len(f.Name)+1 && len(line)+1+len(w) > 78 {
				b.WriteString(line + "\r\n")
				line = ""
			}
			line += " " + w
		}
		b.WriteString(line + "\r\n")
	}
}

// OneLine returns s with CR, LF and NUL turned into spaces, so it can be
// shown in one header field or one line of text.
func OneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\x00") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// Address formats a mailbox for a From, To or Reply-To field: the
// display name, quoted or encoded as needed, and the address in angle
// brackets; the bare "<addr>" without a name.
func Address(name, addr string) string {
	return (&netmail.Address{Name: OneLine(name), Address: addr}).String()
}
