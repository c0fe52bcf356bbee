package box

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // non-UTF-8 charsets
	"github.com/emersion/go-message/mail"

	"github.com/sealgate/sealgate/internal/mimelimit"
	"github.com/sealgate/sealgate/mailtext"
	"github.com/sealgate/sealgate/store"
)

// maxParts bounds the parts read from one message: the same bound as the policy's, so
// that every message the policy read can be handed over.
const maxParts = mimelimit.MaxParts

// ErrMalformed is returned for a message the parser cannot read. It never
// wraps the parser's own error: go-message quotes the offending header or
// body line, which can be PHI, and this error reaches the operational log.
var ErrMalformed = errors.New("portal box: malformed message")

// ErrTooManyParts is returned for a message with more than mimelimit.MaxParts parts.
var ErrTooManyParts = errors.New("portal box: too many parts")

// malformed is ErrMalformed with the stage that failed.
func malformed(stage string) error { return fmt.Errorf("%w (%s)", ErrMalformed, stage) }

// Parse turns a complete RFC 5322 message into portal content: the
// subject, the first text/plain and text/html bodies, and every other
// part as an attachment. The original is kept in Content.Raw. Its header
// is read by the one parser (mailtext.ParseHeader), within the limits the
// SMTP server and the policy read it in.
func Parse(raw []byte) (store.Content, error) {
	c := store.Content{Raw: raw}
	h, err := mailtext.ParseHeader(raw)
	if err != nil {
		return c, malformed("read header")
	}
	ent, err := gomessage.New(gomessage.Header{Header: h.Textproto()}, bytes.NewReader(raw[h.BodyOffset():]))
	if err != nil && !gomessage.IsUnknownCharset(err) {
		return c, malformed("read message")
	}
	mr := mail.NewReader(ent)
	c.Subject, _ = mr.Header.Subject()
	for i := 0; ; i++ {
		if i == maxParts {
			return c, ErrTooManyParts
		}
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c, malformed("read part")
		}
		if err := addPart(&c, p); err != nil {
			return c, err
		}
	}
	return c, nil
}

func addPart(c *store.Content, p *mail.Part) error {
	data, err := io.ReadAll(p.Body)
	if err != nil {
		return malformed("read part body")
	}
	switch h := p.Header.(type) {
	case *mail.InlineHeader:
		t, _, _ := h.ContentType()
		switch {
		case t == "text/plain" && c.Text == "":
			c.Text = string(data)
			return nil
		case t == "text/html" && c.HTML == "":
			c.HTML = string(data)
			return nil
		}
		c.Attachments = append(c.Attachments, attachment("", t, data, len(c.Attachments)))
	case *mail.AttachmentHeader:
		name, _ := h.Filename()
		t, _, _ := h.ContentType()
		c.Attachments = append(c.Attachments, attachment(name, t, data, len(c.Attachments)))
	}
	return nil
}

func attachment(name, typ string, data []byte, n int) store.Attachment {
	name = strings.TrimSpace(strings.ReplaceAll(name, "\\", "/"))
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if name == "" || name == "." || name == ".." {
		name = fmt.Sprintf("attachment-%d", n+1)
		if exts, _ := mime.ExtensionsByType(typ); len(exts) > 0 {
			name += exts[0]
		}
	}
	if typ == "" {
		typ = "application/octet-stream"
	}
	return store.Attachment{Name: name, Type: typ, Data: data}
}
