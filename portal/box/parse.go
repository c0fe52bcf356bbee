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
	"github.com/emersion/go-message/textproto"

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
// part as an attachment. The original is kept in Content.Raw. Its header,
// and the header of every part, is read by the one parser
// (mailtext.ParseHeader), within the limits the SMTP server and the policy
// read them in; multipart bodies are split by mailtext.Parts, as the
// policy splits them, and nested no deeper than mimelimit.MaxDepth.
func Parse(raw []byte) (store.Content, error) {
	c := store.Content{Raw: raw}
	h, err := mailtext.ParseHeader(raw)
	if err != nil {
		return c, malformed("read header")
	}
	th := h.Textproto()
	c.Subject, _ = (&mail.Header{Header: gomessage.Header{Header: th}}).Subject()
	w := walker{c: &c}
	return c, w.entity(th, raw[h.BodyOffset():], 0)
}

// walker gathers the leaf parts of a message into its content.
type walker struct {
	c      *store.Content
	leaves int
}

// entity reads one MIME entity whose header is h and body, as written, is
// body: the parts of a multipart, or a leaf.
func (w *walker) entity(h textproto.Header, body []byte, depth int) error {
	if depth > mimelimit.MaxDepth {
		return malformed("nesting")
	}
	ent, err := gomessage.New(gomessage.Header{Header: h}, bytes.NewReader(body))
	if err != nil && !gomessage.IsUnknownCharset(err) {
		return malformed("read part")
	}
	mt, params, _ := ent.Header.ContentType()
	if !strings.HasPrefix(mt, "multipart/") {
		if w.leaves++; w.leaves > maxParts {
			return ErrTooManyParts
		}
		return addPart(w.c, ent)
	}
	// A multipart body is split as written: its transfer encoding, which
	// RFC 2045 §6.4 limits to 7bit, 8bit and binary, is ignored, as
	// go-message ignores it.
	for p, err := range mailtext.Parts(body, params["boundary"]) {
		if err != nil {
			return malformed("read part")
		}
		if err := w.entity(p.Header.Textproto(), p.Body, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// addPart adds a leaf part: an inline part (so marked, or text not marked
// as an attachment) that is the first text/plain or text/html one as a
// body, any other as an attachment.
func addPart(c *store.Content, p *gomessage.Entity) error {
	data, err := io.ReadAll(p.Body)
	if err != nil {
		return malformed("read part body")
	}
	t, _, _ := p.Header.ContentType()
	disp, _, _ := p.Header.ContentDisposition()
	if disp == "inline" || (disp != "attachment" && strings.HasPrefix(t, "text/")) {
		switch {
		case t == "text/plain" && c.Text == "":
			c.Text = string(data)
			return nil
		case t == "text/html" && c.HTML == "":
			c.HTML = string(data)
			return nil
		}
		c.Attachments = append(c.Attachments, attachment("", t, data, len(c.Attachments)))
		return nil
	}
	name, _ := (&mail.AttachmentHeader{Header: p.Header}).Filename()
	c.Attachments = append(c.Attachments, attachment(name, t, data, len(c.Attachments)))
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
