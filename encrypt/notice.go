package encrypt

import (
	"errors"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/internal/i18n"
	"github.com/sealgate/sealgate/mailtext"
)

// Notice shapes the portal notification. It must carry no PHI: its texts
// come from the configuration and the catalogue, never from the message.
// It is multipart/alternative: plain text, and HTML with a button, the
// clinic's logo and its tappable contact.
type Notice struct {
	// Subject of the notification; default the catalogue's, in Language.
	Subject string
	// Text opens the body; default the catalogue's. The link and the
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
	// Language of the notification (a code of package i18n); default
	// English. Every other language adds one line inviting its readers.
	Language string
	// Location writes the expiry; default UTC. The zone is named.
	Location *time.Location
	// SupportPhone, SupportEmail and Support are the clinic's contact:
	// tel: and mailto: links and a free line (opening hours).
	SupportPhone, SupportEmail, Support string
	// Color is the button's colour, "#RRGGBB"; default a dark blue.
	Color string
	// Logo (PNG or SVG, LogoType its MIME type) is shown above the text,
	// carried in the message itself, so no image is fetched on opening.
	Logo     []byte
	LogoType string
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (n Notice) withDefaults() Notice {
	lang := i18n.Get(n.Language)
	n.Language = lang.Code()
	if n.Subject == "" {
		n.Subject = lang.T("notice.subject")
	}
	if n.Text == "" {
		n.Text = lang.T("notice.text")
	}
	if n.TTL <= 0 {
		n.TTL = 30 * 24 * time.Hour
	}
	if n.Hostname == "" {
		n.Hostname = "localhost"
	}
	if n.Location == nil {
		n.Location = time.UTC
	}
	if !colorRE.MatchString(n.Color) {
		n.Color = "#0b5394"
	}
	if n.LogoType != "image/png" && n.LogoType != "image/svg+xml" {
		n.Logo = nil
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

// build returns the notification message: CRLF, 7-bit, quoted-printable
// text and HTML, the logo in base64.
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
		org = addr.DomainOf(from)
	}
	c := n.content(org, req)
	html, err := n.html(c)
	if err != nil {
		return nil, err
	}
	htmlPart := qpText("text/html", html)
	if n.Logo != nil {
		htmlPart = mailtext.Part{Type: "multipart/related", Parts: []mailtext.Part{htmlPart,
			{Type: n.LogoType, Encoding: mailtext.Base64, Body: n.Logo, Fields: []mailtext.Field{
				{Name: "Content-ID", Value: "<logo@notice>"}, {Name: "Content-Disposition", Value: `inline; filename="logo"`}}}}}
	}
	msg, err := mailtext.Compose(mailtext.Message{
		From: mailtext.Address(org, from), To: mailtext.Address("", req.To), Subject: n.Subject,
		Date: req.Now, Host: n.Hostname,
		Fields: []mailtext.Field{{Name: "Content-Language", Value: n.Language}},
		Body: mailtext.Part{Type: "multipart/alternative",
			Parts: []mailtext.Part{qpText("text/plain", c.plain()), htmlPart}},
	})
	if err != nil {
		return nil, fmt.Errorf("encrypt: notification: %w", err)
	}
	return msg, nil
}

// qpText is a quoted-printable UTF-8 text part.
func qpText(ctype, text string) mailtext.Part {
	return mailtext.Part{Type: ctype + "; charset=utf-8", Encoding: mailtext.QuotedPrintable, Body: []byte(text)}
}

// noticeContent is what both parts say.
type noticeContent struct {
	Lang, Subject, Text, From, Open, Button, Link, NoLink, Until string
	Help, Phone, Tel, Email, EmailLine, Support                  string
	Others                                                       []otherLang
	Color                                                        string
	Logo                                                         bool
}

type otherLang struct{ Code, Text string }

func (n Notice) content(org string, req noticeRequest) noticeContent {
	l := i18n.Get(n.Language)
	c := noticeContent{Lang: n.Language, Subject: n.Subject, Text: n.Text, From: l.T("notice.from", org),
		Open: l.T("notice.open"), Button: l.T("notice.button"), Link: n.Link(req.Token), NoLink: l.T("notice.nolink"),
		Until: l.T("notice.until", l.Time(req.Expires, n.Location)), Support: n.Support, Color: n.Color, Logo: n.Logo != nil}
	if n.SupportPhone != "" || n.SupportEmail != "" || n.Support != "" {
		c.Help = l.T("mail.help", org)
	}
	if n.SupportPhone != "" {
		c.Phone, c.Tel = l.T("mail.phone", n.SupportPhone), telURI(n.SupportPhone)
	}
	if n.SupportEmail != "" {
		c.Email, c.EmailLine = n.SupportEmail, l.T("mail.email", n.SupportEmail)
	}
	for _, code := range i18n.Codes() {
		if code != n.Language {
			c.Others = append(c.Others, otherLang{Code: code, Text: i18n.Get(code).T("notice.other")})
		}
	}
	return c
}

// plain is the text part.
func (c noticeContent) plain() string {
	lines := []string{c.Text, "", c.From, "", c.Open, c.Link, "", c.Until, ""}
	if c.Help != "" {
		lines = append(lines, c.Help)
		for _, s := range []string{c.Phone, c.EmailLine, c.Support} {
			if s != "" {
				lines = append(lines, s)
			}
		}
		lines = append(lines, "")
	}
	for _, o := range c.Others {
		lines = append(lines, o.Text, "")
	}
	return strings.Join(lines, "\r\n")
}

var noticeHTML = template.Must(template.New("notice").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Subject}}</title></head>
<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b;background:#ffffff">
{{if .Logo}}<p><img src="cid:logo@notice" alt="" style="max-height:48px"></p>
{{end}}<p>{{.Text}}</p>
<p>{{.From}}</p>
<p><a href="{{.Link}}" style="display:inline-block;padding:12px 20px;background:{{.Color}};color:#ffffff;font-weight:bold;text-decoration:none;border-radius:4px">{{.Button}}</a></p>
<p>{{.NoLink}}<br><a href="{{.Link}}" style="color:#0b4a8b;word-break:break-all">{{.Link}}</a></p>
<p>{{.Until}}</p>
{{if .Help}}<p>{{.Help}}{{if .Tel}}<br><a href="tel:{{.Tel}}" style="color:#0b4a8b">{{.Phone}}</a>{{end}}{{if .Email}}<br><a href="mailto:{{.Email}}" style="color:#0b4a8b">{{.EmailLine}}</a>{{end}}{{if .Support}}<br>{{.Support}}{{end}}</p>
{{end}}{{range .Others}}<p lang="{{.Code}}">{{.Text}}</p>
{{end}}</body>
</html>
`))

func (n Notice) html(c noticeContent) (string, error) {
	var b strings.Builder
	if err := noticeHTML.Execute(&b, c); err != nil {
		return "", fmt.Errorf("encrypt: notification: %w", err)
	}
	return strings.ReplaceAll(b.String(), "\n", "\r\n"), nil
}

// telURI keeps what a tel: link dials: a leading + and the digits.
func telURI(phone string) string {
	var b strings.Builder
	for i, c := range strings.TrimSpace(phone) {
		if c >= '0' && c <= '9' || c == '+' && i == 0 {
			b.WriteRune(c)
		}
	}
	return b.String()
}
