package encrypt

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Notice shapes the portal notification. It must carry no PHI: its texts
// come from the configuration, never from the message.
type Notice struct {
	// Subject of the notification; default "You have a secure message".
	Subject string
	// Text opens the body; default DefaultNoticeText. The link and the
	// expiry follow it.
	Text string
	// Organization is the sender's organisation, shown as the From display
	// name and in the text; default the sender's domain.
	Organization string
	// BaseURL is the portal's address; links are BaseURL/m/<token>.
	BaseURL string
	// TTL is how long the message stays available; default 30 days.
	TTL time.Duration
	// Hostname names the gateway; it is the From domain of notifications
	// for bounces (null sender) and the Message-ID domain.
	Hostname string
}

// DefaultNoticeText is the opening of a notification.
const DefaultNoticeText = "You have received a secure message. To protect your privacy, " +
	"its content is not included in this email."

func (n Notice) withDefaults() Notice {
	if n.Subject == "" {
		n.Subject = "You have a secure message"
	}
	if n.Text == "" {
		n.Text = DefaultNoticeText
	}
	if n.TTL <= 0 {
		n.TTL = 30 * 24 * time.Hour
	}
	if n.Hostname == "" {
		n.Hostname = "localhost"
	}
	n.BaseURL = strings.TrimRight(n.BaseURL, "/")
	return n
}

// noticeRequest is one notification to build.
type noticeRequest struct {
	From    string // envelope sender, "" for a bounce
	To      string // the recipient
	Token   string
	Expires time.Time
	Now     time.Time
}

// Link returns the pickup link for token.
func (n Notice) Link(token string) string { return n.BaseURL + "/m/" + token }

// build returns the notification message, CRLF, quoted-printable body.
func (n Notice) build(req noticeRequest) ([]byte, error) {
	if strings.ContainsAny(n.Subject+n.Organization, "\r\n") {
		return nil, errors.New("encrypt: notification subject or organisation has a line break")
	}
	from := req.From
	if from == "" {
		from = "postmaster@" + n.Hostname
	}
	org := n.Organization
	if org == "" {
		org = from[strings.LastIndexByte(from, '@')+1:]
	}
	id, err := messageID(n.Hostname)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("From: " + (&mail.Address{Name: org, Address: from}).String() + "\r\n")
	b.WriteString("To: <" + req.To + ">\r\n")
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", n.Subject) + "\r\n")
	b.WriteString("Date: " + req.Now.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: " + id + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	if err := n.writeBody(&b, org, req); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeBody writes the text, the sender, the link and the expiry.
func (n Notice) writeBody(b *bytes.Buffer, org string, req noticeRequest) error {
	text := strings.Join([]string{
		n.Text, "",
		"From: " + org, "",
		"Open the message here:", n.Link(req.Token), "",
		"It is available until " + req.Expires.UTC().Format("2 January 2006 15:04 MST") + ".", "",
	}, "\r\n")
	w := quotedprintable.NewWriter(b)
	if _, err := w.Write([]byte(text)); err != nil {
		return fmt.Errorf("encrypt: notification: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("encrypt: notification: %w", err)
	}
	b.WriteString("\r\n")
	return nil
}

// messageID returns a fresh Message-ID at host.
func messageID(host string) (string, error) {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("encrypt: message id: %w", err)
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + host + ">", nil
}
