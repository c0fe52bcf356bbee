package portal

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/internal/i18n"
	"github.com/sealgate/sealgate/mailtext"
	"github.com/sealgate/sealgate/store"
)

// codeMail is the one-time code email in lang, with the clinic's contact.
// It holds no PHI: no sender, subject or content of the waiting message.
func (s *Server) codeMail(to, code string, lang *i18n.Lang) Mail {
	org := s.opts.Branding.Organization
	body := lang.T("mail.code.body", code[:4]+" "+code[4:], org, lang.Minutes(s.codeMinutes())) + "\n"
	if c := contactText(lang, s.opts.Branding); c != "" {
		body += "\n" + c
	}
	h := s.headers(to, lang.T("mail.code.subject", org))
	h = append(h, [2]string{"Content-Language", lang.Code()})
	return Mail{From: s.opts.From, To: []string{to}, Data: compose(h, crlf(body), nil)}
}

// contactText is the clinic's contact as plain text lines, or "".
func contactText(lang *i18n.Lang, b Branding) string {
	var lines []string
	if b.SupportPhone != "" {
		lines = append(lines, lang.T("mail.phone", b.SupportPhone))
	}
	if b.SupportEmail != "" {
		lines = append(lines, lang.T("mail.email", b.SupportEmail))
	}
	if b.Support != "" {
		lines = append(lines, b.Support)
	}
	if len(lines) == 0 {
		return ""
	}
	return lang.T("mail.help", b.Organization) + "\n" + strings.Join(lines, "\n") + "\n"
}

// replyMail carries the recipient's reply to the original sender.
func (s *Server) replyMail(m store.Meta, subject, text string, files []store.Attachment) Mail {
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	h := s.headers(m.Sender, subject)
	h = append(h, [2]string{"Reply-To", (&mail.Address{Address: m.Recipient}).String()})
	l := i18n.Get(s.opts.Language) // for the clinic: its configured language
	body := l.T("mail.reply.intro", m.Recipient, s.opts.Branding.Organization, m.ID) + "\r\n\r\n" + crlf(text) + "\r\n"
	return Mail{From: s.opts.From, To: []string{m.Sender}, Data: compose(h, body, files), Sensitive: true}
}

// receiptMail tells the sender their message was opened.
func (s *Server) receiptMail(m store.Meta, at time.Time) Mail {
	l := i18n.Get(s.opts.Language)
	h := s.headers(m.Sender, l.T("mail.receipt.subject", m.ID))
	body := l.T("mail.receipt.body", m.ID, l.Time(at, s.opts.TimeZone)) + "\r\n"
	return Mail{From: s.opts.From, To: []string{m.Sender}, Data: compose(h, body, nil)}
}

func (s *Server) headers(to, subject string) [][2]string {
	return [][2]string{
		{"From", (&mail.Address{Name: cmp.Or(s.opts.FromName, s.opts.Branding.Organization), Address: s.opts.From}).String()},
		{"To", (&mail.Address{Address: to}).String()},
		{"Subject", mime.QEncoding.Encode("utf-8", oneLine(subject))},
		{"Date", s.opts.Now().Format(time.RFC1123Z)},
		{"Message-ID", mailtext.MessageID(addr.DomainOf(s.opts.From))},
		{"MIME-Version", "1.0"},
		{"Auto-Submitted", "auto-generated"},
	}
}

// compose writes a text/plain message, or multipart/mixed with files.
func compose(h [][2]string, text string, files []store.Attachment) []byte {
	var b bytes.Buffer
	for _, kv := range h {
		b.WriteString(kv[0] + ": " + oneLine(kv[1]) + "\r\n")
	}
	if len(files) == 0 {
		writeText(&b, text)
		return b.Bytes()
	}
	boundary := mailtext.Boundary()
	b.WriteString("Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n")
	b.WriteString("--" + boundary + "\r\n")
	writeText(&b, text)
	for _, f := range files {
		b.WriteString("\r\n--" + boundary + "\r\n")
		writeFile(&b, f)
	}
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes()
}

func writeText(b *bytes.Buffer, text string) {
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(b)
	qp.Write([]byte(text))
	qp.Close()
	b.WriteString("\r\n")
}

func writeFile(b *bytes.Buffer, f store.Attachment) {
	name := oneLine(f.Name)
	b.WriteString("Content-Type: " + safeType(f.Type) + "\r\n")
	b.WriteString("Content-Disposition: " + attachmentDisposition(name) + "\r\n")
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(f.Data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
}

// oneLine removes line breaks, so no value can start a new header.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// crlf normalises line endings to CRLF.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
