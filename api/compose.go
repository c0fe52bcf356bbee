package api

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"

	"github.com/sealgate/sealgate/mailtext"
)

// Message is the JSON body of POST /v1/messages.
type Message struct {
	From        string            `json:"from"`
	To          []string          `json:"to"`
	Cc          []string          `json:"cc,omitempty"`
	Bcc         []string          `json:"bcc,omitempty"`
	Subject     string            `json:"subject"`
	Text        string            `json:"text,omitempty"`
	HTML        string            `json:"html,omitempty"`
	Attachments []Attachment      `json:"attachments,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
}

// Attachment is one attached file; Content is standard base64.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Content     string `json:"content"`
}

// envelope is the sender and recipients a request gives, with the
// message to queue.
type envelope struct {
	From string
	To   []string
	Body []byte
}

// requestError is a request the API refuses before the gateway's checks:
// status, a stable code and a message that names the field.
type requestError struct {
	status  int
	code    string
	message string
}

func (e *requestError) Error() string { return e.message }

func badRequest(format string, a ...any) *requestError {
	return &requestError{status: 400, code: "invalid_request", message: fmt.Sprintf(format, a...)}
}

// fixedFields are the header fields the API writes itself: a request's
// headers may not set them.
var fixedFields = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "date": true,
	"message-id": true, "sender": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "content-disposition": true, "received": true,
	"return-path": true, "dkim-signature": true, "resent-from": true, "resent-sender": true,
	"resent-to": true, "resent-cc": true, "resent-bcc": true, "resent-date": true, "resent-message-id": true,
}

// compose builds the RFC 5322 message of a JSON request (CRLF line
// endings, MIME as the parts require) and its envelope.
func compose(m Message, host string, now time.Time) (envelope, error) {
	from, err := netmail.ParseAddress(m.From)
	if err != nil || m.From == "" {
		return envelope{}, badRequest("from: want one address, as \"a@b\" or \"Name <a@b>\"")
	}
	var h gomail.Header
	h.SetAddressList("From", []*gomail.Address{{Name: from.Name, Address: from.Address}})
	var rcpts []string
	for _, f := range []struct {
		name string
		list []string
	}{{"To", m.To}, {"Cc", m.Cc}, {"Bcc", m.Bcc}} {
		addrs, err := parseList(strings.ToLower(f.name), f.list)
		if err != nil {
			return envelope{}, err
		}
		for _, a := range addrs {
			rcpts = append(rcpts, a.Address)
		}
		if f.name != "Bcc" && len(addrs) > 0 {
			h.SetAddressList(f.name, addrs)
		}
	}
	if len(rcpts) == 0 {
		return envelope{}, badRequest("to: at least one recipient in to, cc or bcc")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return envelope{}, badRequest("subject: must be one line")
	}
	h.SetSubject(m.Subject)
	h.SetDate(now)
	h.Set("Message-ID", mailtext.MessageID(host))
	if err := extraHeaders(&h, m.Headers); err != nil {
		return envelope{}, err
	}
	if m.Text == "" && m.HTML == "" && len(m.Attachments) == 0 {
		return envelope{}, badRequest("text, html or attachments: the message needs a body")
	}
	var buf bytes.Buffer
	if err := writeBody(&buf, h, m); err != nil {
		return envelope{}, err
	}
	return envelope{From: from.Address, To: rcpts, Body: buf.Bytes()}, nil
}

func parseList(field string, list []string) ([]*gomail.Address, error) {
	var out []*gomail.Address
	for i, s := range list {
		a, err := netmail.ParseAddress(s)
		if err != nil {
			return nil, badRequest("%s[%d]: not an address", field, i)
		}
		out = append(out, &gomail.Address{Name: a.Name, Address: a.Address})
	}
	return out, nil
}

// extraHeaders adds a request's own header fields: a token for a name, one
// line of text for a value (encoded when it is not ASCII), none of the
// fields the API writes itself.
func extraHeaders(h *gomail.Header, hs map[string]string) error {
	for name, v := range hs {
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == ':' }) >= 0 {
			return badRequest("headers: %q is not a header field name", name)
		}
		if fixedFields[strings.ToLower(name)] {
			return badRequest("headers: %s is set from the request's own fields, not in headers", name)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return badRequest("headers: %s: a value is one line", name)
		}
		h.Set(name, mime.QEncoding.Encode("utf-8", v))
	}
	return nil
}

// writeBody writes the header and the MIME body: one text part, text and
// HTML as alternatives, and attachments after them in a mixed message.
func writeBody(w io.Writer, h gomail.Header, m Message) error {
	var att []Attachment
	for i, a := range m.Attachments {
		if _, err := base64.StdEncoding.DecodeString(a.Content); err != nil {
			return badRequest("attachments[%d].content: not standard base64", i)
		}
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if _, _, err := mime.ParseMediaType(ct); err != nil || strings.HasPrefix(ct, "multipart/") {
			return badRequest("attachments[%d].content_type: not a media type", i)
		}
		if a.Filename == "" || strings.ContainsAny(a.Filename, "\r\n/\\") {
			return badRequest("attachments[%d].filename: a file name without folders", i)
		}
		a.ContentType = ct
		att = append(att, a)
	}
	top := h.Header
	if len(att) == 0 {
		return writeText(func(ph message.Header) (*message.Writer, error) {
			for f := ph.Fields(); f.Next(); {
				top.Set(f.Key(), f.Value())
			}
			return message.CreateWriter(w, top)
		}, m)
	}
	top.SetContentType("multipart/mixed", map[string]string{"boundary": mailtext.Boundary()})
	mw, err := message.CreateWriter(w, top)
	if err != nil {
		return err
	}
	if m.Text != "" || m.HTML != "" {
		if err := writeText(mw.CreatePart, m); err != nil {
			return err
		}
	}
	for _, a := range att {
		var ph message.Header
		ph.SetContentType(a.ContentType, nil)
		ph.SetContentDisposition("attachment", map[string]string{"filename": a.Filename})
		ph.Set("Content-Transfer-Encoding", "base64")
		pw, err := mw.CreatePart(ph)
		if err != nil {
			return err
		}
		data, _ := base64.StdEncoding.DecodeString(a.Content)
		if _, err := pw.Write(data); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	return mw.Close()
}

// writeText writes the text of a message as one entity made by create:
// a text part, or a multipart/alternative of text and HTML.
func writeText(create func(message.Header) (*message.Writer, error), m Message) error {
	var ph message.Header
	if m.Text != "" && m.HTML != "" {
		ph.SetContentType("multipart/alternative", map[string]string{"boundary": mailtext.Boundary()})
		mw, err := create(ph)
		if err != nil {
			return err
		}
		if err := writeAlternatives(mw, m); err != nil {
			return err
		}
		return mw.Close()
	}
	ct, text := "text/plain", m.Text
	if m.HTML != "" {
		ct, text = "text/html", m.HTML
	}
	ph.SetContentType(ct, map[string]string{"charset": "utf-8"})
	ph.Set("Content-Transfer-Encoding", "quoted-printable")
	mw, err := create(ph)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(mw, text); err != nil {
		return err
	}
	return mw.Close()
}

func writeAlternatives(mw *message.Writer, m Message) error {
	for _, p := range []struct{ ct, text string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		var ph message.Header
		ph.SetContentType(p.ct, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := mw.CreatePart(ph)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(pw, p.text); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// raw reads a message/rfc822 request body: line endings made CRLF, the
// envelope from the query (from, to) or else from the From, To, Cc and Bcc
// fields, and any Bcc field removed before the message is queued.
func raw(body []byte, qFrom string, qTo []string) (envelope, error) {
	msg := mailtext.ToCRLF(body)
	if _, _, ok := mailtext.SplitHeader(msg); !ok {
		return envelope{}, badRequest("message/rfc822: no empty line ends the header")
	}
	ph, err := mailtext.ParseHeader(msg)
	if err != nil {
		return envelope{}, badRequest("message/rfc822: the header cannot be read")
	}
	h := gomail.Header{Header: message.Header{Header: ph.Textproto()}}
	env := envelope{From: qFrom, To: qTo}
	if env.From == "" {
		froms, err := h.AddressList("From")
		if err != nil || len(froms) != 1 {
			return envelope{}, badRequest("message/rfc822: want one address in From (or ?from=)")
		}
		env.From = froms[0].Address
	}
	if len(env.To) == 0 {
		for _, f := range []string{"To", "Cc", "Bcc"} {
			list, err := h.AddressList(f)
			if err != nil {
				return envelope{}, badRequest("message/rfc822: %s cannot be read", f)
			}
			for _, a := range list {
				env.To = append(env.To, a.Address)
			}
		}
	}
	if len(env.To) == 0 {
		return envelope{}, badRequest("message/rfc822: no recipients in To, Cc, Bcc or ?to=")
	}
	if ph.Index("Bcc") < 0 {
		env.Body = msg
		return env, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(msg))
	for i := range ph.Len() {
		if !strings.EqualFold(ph.Name(i), "Bcc") {
			buf.Write(ph.Raw(i))
		}
	}
	buf.WriteString("\r\n")
	buf.Write(msg[ph.BodyOffset():])
	env.Body = buf.Bytes()
	return env, nil
}
