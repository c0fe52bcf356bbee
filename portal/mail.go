package portal

import (
	"cmp"
	"crypto/rand"
	"strings"
	"time"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/internal/i18n"
	"github.com/sealgate/sealgate/mailtext"
	"github.com/sealgate/sealgate/store"
)

// codeMail is the one-time code email in lang, with the clinic's contact.
// It holds no PHI: no sender, subject or content of the waiting message.
func (s *Server) codeMail(to, code string, lang *i18n.Lang) (Mail, error) {
	org := s.opts.Branding.Organization
	body := lang.T("mail.code.body", code[:4]+" "+code[4:], org, lang.Minutes(s.codeMinutes())) + "\n"
	if c := contactText(lang, s.opts.Branding); c != "" {
		body += "\n" + c
	}
	data, err := s.compose(to, lang.T("mail.code.subject", org), crlf(body), nil,
		mailtext.Field{Name: "Content-Language", Value: lang.Code()})
	return Mail{From: s.opts.From, To: []string{to}, Data: data}, err
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
func (s *Server) replyMail(m store.Meta, subject, text string, files []store.Attachment) (Mail, error) {
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	l := i18n.Get(s.opts.Language) // for the clinic: its configured language
	body := l.T("mail.reply.intro", m.Recipient, s.opts.Branding.Organization, m.ID) + "\r\n\r\n" + crlf(text) + "\r\n"
	data, err := s.compose(m.Sender, subject, body, files, mailtext.Field{Name: "Reply-To", Value: mailtext.Address("", m.Recipient)})
	return Mail{From: s.opts.From, To: []string{m.Sender}, Data: data, Sensitive: true}, err
}

// receiptMail tells the sender their message was opened.
func (s *Server) receiptMail(m store.Meta, at time.Time) (Mail, error) {
	l := i18n.Get(s.opts.Language)
	body := l.T("mail.receipt.body", m.ID, l.Time(at, s.opts.TimeZone)) + "\r\n"
	data, err := s.compose(m.Sender, l.T("mail.receipt.subject", m.ID), body, nil)
	return Mail{From: s.opts.From, To: []string{m.Sender}, Data: data}, err
}

// compose writes portal mail to to: a quoted-printable text/plain
// message, or multipart/mixed with files attached; extra fields follow
// Auto-Submitted.
func (s *Server) compose(to, subject, text string, files []store.Attachment, extra ...mailtext.Field) ([]byte, error) {
	body := mailtext.Part{Type: "text/plain; charset=utf-8", Encoding: mailtext.QuotedPrintable, Body: []byte(text)}
	if len(files) > 0 {
		parts := []mailtext.Part{body}
		for _, f := range files {
			parts = append(parts, mailtext.Part{Type: safeType(f.Type), Encoding: mailtext.Base64, Body: f.Data,
				Fields: []mailtext.Field{{Name: "Content-Disposition", Value: attachmentDisposition(oneLine(f.Name))}}})
		}
		body = mailtext.Part{Type: "multipart/mixed", Parts: parts}
	}
	return mailtext.Compose(mailtext.Message{
		From:    mailtext.Address(cmp.Or(s.opts.FromName, s.opts.Branding.Organization), s.opts.From),
		To:      mailtext.Address("", to),
		Subject: subject, Date: s.opts.Now(), Host: addr.DomainOf(s.opts.From),
		Fields: append([]mailtext.Field{{Name: "Auto-Submitted", Value: "auto-generated"}}, extra...),
		Body:   body,
	})
}

// oneLine removes line breaks, so no value can start a new header.
func oneLine(s string) string { return mailtext.OneLine(s) }

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
