// Package mimeutil prepares a message for end-to-end encryption: the original
// MIME entity, with the headers a reader cares about copied inside it
// ("protected headers", draft-ietf-lamps-header-protection and the
// protected-headers="v1" convention of Enigmail/Thunderbird), and an outer
// header that keeps only what routing and threading need, with a neutral
// Subject. Both the PGP/MIME and the S/MIME encoders build on it.
package mimeutil

import (
	"bytes"
	"errors"
	"mime"
	"strings"

	"github.com/sealgate/sealgate/mailtext"
)

// DefaultSubject is the neutral outer Subject used when none is configured.
const DefaultSubject = "Secure message"

// ErrMalformed reports a message header that cannot be parsed. It carries no
// message content, so it is safe to log.
var ErrMalformed = errors.New("mimeutil: malformed message header")

// ErrBadSubject reports a neutral subject that cannot be a header value.
var ErrBadSubject = errors.New("mimeutil: neutral subject contains control characters")

// protectedKeys are copied into the encrypted entity so that capable clients
// show the real values.
var protectedKeys = map[string]bool{
	"From": true, "To": true, "Cc": true, "Reply-To": true, "Subject": true,
	"Date": true, "Message-Id": true, "In-Reply-To": true, "References": true,
}

// outerKeys stay in the clear: routing and threading need them. Subject is
// replaced and MIME-Version regenerated; every other field is dropped.
var outerKeys = map[string]bool{
	"From": true, "To": true, "Cc": true, "Reply-To": true, "Date": true,
	"Message-Id": true, "In-Reply-To": true, "References": true,
}

// Protected is a message split for encryption.
type Protected struct {
	outer [][]byte // raw outer fields, CRLF-terminated, in original order
	// Inner is the MIME entity to encrypt: protected headers, the original
	// Content-* headers (Content-Type marked protected-headers="v1"), a blank
	// line and the original body, all with CRLF line endings.
	Inner []byte
}

// Protect splits msg (an RFC 5322 message) for encryption. subject is the
// neutral outer Subject; "" means DefaultSubject.
func Protect(msg []byte, subject string) (*Protected, error) {
	subj, err := encodeSubject(subject)
	if err != nil {
		return nil, err
	}
	msg = mailtext.ToCRLF(msg)
	if _, _, ok := mailtext.SplitHeader(msg); !ok && !bytes.HasSuffix(msg, []byte("\r\n")) {
		// All header and no body: its last line may lack the line ending.
		msg = append(msg[:len(msg):len(msg)], '\r', '\n')
	}
	h, err := mailtext.ParseHeader(msg)
	if err != nil {
		// A bare CR, among others: some readers end a line there, so a
		// field hidden behind one could slip into the clear outer header.
		return nil, ErrMalformed
	}
	p := &Protected{}
	var inner bytes.Buffer
	inner.Grow(len(msg) + 128)
	p.outer = sortFields(&h, &inner)
	p.outer = append(p.outer, []byte("Subject: "+subj+"\r\n"), []byte("MIME-Version: 1.0\r\n"))
	inner.WriteString("\r\n")
	inner.Write(msg[h.BodyOffset():])
	p.Inner = inner.Bytes()
	return p, nil
}

// sortFields writes the protected and Content-* fields of h to inner
// (marking or adding the Content-Type) and returns the outer fields.
func sortFields(h *mailtext.Header, inner *bytes.Buffer) [][]byte {
	var outer [][]byte
	hasType := false
	for i := range h.Len() {
		raw := h.Raw(i)
		k := h.Key(i)
		switch {
		case k == "Content-Type":
			hasType = true
			inner.WriteString(protectedContentType(h.Value(i)))
		case strings.HasPrefix(k, "Content-") || protectedKeys[k]:
			inner.Write(raw)
		}
		if outerKeys[k] {
			outer = append(outer, raw)
		}
	}
	if !hasType {
		inner.WriteString(protectedContentType("text/plain; charset=us-ascii"))
	}
	return outer
}

// protectedContentType returns a Content-Type field for value with the
// protected-headers="v1" parameter set.
func protectedContentType(value string) string {
	mt, params, err := mime.ParseMediaType(value)
	if err != nil {
		return "Content-Type: " + value + "; protected-headers=\"v1\"\r\n"
	}
	// Quoted as the convention's readers expect it, so added by hand.
	delete(params, "protected-headers")
	return foldParams("Content-Type: " + mime.FormatMediaType(mt, params) + `; protected-headers="v1"`)
}

// foldParams breaks a long structured field before each parameter so that no
// line exceeds the RFC 5322 limits for ordinary values.
func foldParams(field string) string {
	if len(field) <= 76 {
		return field + "\r\n"
	}
	return strings.ReplaceAll(field, "; ", ";\r\n ") + "\r\n"
}

// encodeSubject validates the neutral subject and encodes it (RFC 2047) if
// it is not plain ASCII.
func encodeSubject(s string) (string, error) {
	if s == "" {
		s = DefaultSubject
	}
	ascii := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", ErrBadSubject
		}
		if r > 0x7e {
			ascii = false
		}
	}
	if ascii {
		return s, nil
	}
	return mime.QEncoding.Encode("utf-8", s), nil
}

// Message returns the outer message: the outer header, the given content
// fields (complete "Name: value" strings without line ending), a blank line
// and body (which must already use CRLF line endings).
func (p *Protected) Message(content []string, body []byte) []byte {
	var b bytes.Buffer
	for _, f := range p.outer {
		b.Write(f)
	}
	for _, f := range content {
		b.WriteString(f)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// Boundary returns a fresh random MIME boundary (mailtext.Boundary).
func Boundary() (string, error) { return mailtext.Boundary(), nil }
