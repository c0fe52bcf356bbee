// Package feedback receives what comes back after mail has left: delivery
// status notifications (RFC 3464) and complaint reports (ARF, RFC 5965)
// sent to the gateway's bounce addresses. It parses them with limits and
// keeps only what it needs — actions, status codes, the feedback type, and
// the return path and unsubscribe link of the quoted original message, and
// the subject of a message that is no report (a List-Unsubscribe mailto:
// request) — never a remote text, a report's subject or a body.
package feedback

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-message"

	"github.com/sealgate/sealgate/bounce"
	"github.com/sealgate/sealgate/internal/mimelimit"
	"github.com/sealgate/sealgate/mailtext"
)

// Kind is what sort of report a message is.
type Kind string

// Kinds of report.
const (
	KindDSN   Kind = "dsn"   // multipart/report; report-type=delivery-status
	KindARF   Kind = "arf"   // multipart/report; report-type=feedback-report
	KindOther Kind = "other" // anything else: an autoreply, a bounce in prose
)

// Limits on what a report may hold.
const (
	maxParts      = 16  // parts of the multipart/report looked at
	maxRecipients = 100 // per-recipient blocks of a DSN
)

// ErrMalformed is returned for a report that cannot be read.
var ErrMalformed = errors.New("feedback: malformed report")

// RecipientStatus is one per-recipient block of a DSN (RFC 3464 §2.3).
type RecipientStatus struct {
	Action string // failed, delayed, delivered, relayed, expanded (lower case)
	Status string // enhanced status code, e.g. 5.1.1
	Code   int    // the SMTP reply code of an smtp Diagnostic-Code, 0 if none
}

// Report is what was read from one message.
type Report struct {
	Kind       Kind
	Recipients []RecipientStatus // KindDSN
	// FeedbackType is the ARF Feedback-Type (abuse, fraud, ...), lower case.
	FeedbackType string
	// OriginalMailFrom is the ARF Original-Mail-From field: the envelope
	// sender of the message complained about (RFC 5965 §3.2).
	OriginalMailFrom string
	// ReturnPath and ListUnsubscribe are the fields of the original
	// message's header quoted in the report (an ARF report's third part),
	// which carry sealgate's tokens.
	ReturnPath      string
	ListUnsubscribe string
	// Subject is the Subject of a message that is no report (KindOther),
	// unfolded: what a mail client writes from the subject of a
	// List-Unsubscribe mailto: link.
	Subject string
	// Remote is the address of the server that handed the message over,
	// set by the listener.
	Remote string
}

// Parse reads a report. A message that is not a multipart/report is
// KindOther, not an error; a multipart/report that cannot be read is
// ErrMalformed. Its header, the header of each part and the field blocks
// of its report part are read by the one header parser
// (mailtext.ParseHeader), within the limits every reader of a message
// shares; its parts are split by mailtext.Parts.
func Parse(r io.Reader) (*Report, error) {
	msg, err := io.ReadAll(io.LimitReader(r, keepBytes))
	if err != nil {
		return nil, ErrMalformed
	}
	h, err := mailtext.ParseHeader(msg)
	if err != nil {
		return nil, ErrMalformed
	}
	mh := message.Header{Header: h.Textproto()}
	mt, params, err := mh.ContentType()
	if err != nil || mt != "multipart/report" {
		return &Report{Kind: KindOther, Subject: subject(mh)}, nil
	}
	rep := &Report{Kind: KindOther}
	switch strings.ToLower(params["report-type"]) {
	case "delivery-status":
		rep.Kind = KindDSN
	case "feedback-report":
		rep.Kind = KindARF
	default:
		return rep, nil
	}
	// Split as written: a multipart's transfer encoding is ignored, as
	// go-message ignores it (RFC 2045 §6.4 allows none).
	if err := rep.parts(msg[h.BodyOffset():], params["boundary"]); err != nil {
		return nil, err
	}
	return rep, nil
}

// subject is h's Subject with encoded words decoded where they can be,
// unfolded: kept only for a message that is not a report, which may be a
// List-Unsubscribe mailto: request.
func subject(h message.Header) string {
	s, err := h.Text("Subject")
	if err != nil {
		s = h.Get("Subject")
	}
	return strings.Join(strings.Fields(s), " ")
}

// parts reads the parts of the multipart/report body until the part that
// makes the report is read and maxParts are looked at.
func (rep *Report) parts(body []byte, boundary string) error {
	i := 0
	for p, err := range mailtext.Parts(body, boundary) {
		if i++; i > maxParts {
			break
		}
		if err != nil {
			if rep.complete() {
				break // a broken or cut-off tail (the returned message) does not matter
			}
			return ErrMalformed
		}
		e, err := entity(p.Header, p.Body)
		if err != nil {
			return ErrMalformed
		}
		if err := rep.part(e); err != nil {
			return err
		}
	}
	if !rep.complete() {
		return ErrMalformed
	}
	return nil
}

// entity wraps a header already read and its body as go-message does; an
// unknown charset or transfer encoding is no error here.
func entity(h mailtext.Header, body []byte) (*message.Entity, error) {
	e, err := message.New(message.Header{Header: h.Textproto()}, bytes.NewReader(body))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, err
	}
	return e, nil
}

// complete reports whether the part that makes the report has been read:
// the delivery status of a DSN, the feedback report of an ARF report.
func (rep *Report) complete() bool {
	if rep.Kind == KindDSN {
		return len(rep.Recipients) > 0
	}
	return rep.FeedbackType != ""
}

// part reads one part of a report.
func (rep *Report) part(p *message.Entity) error {
	mt, _, _ := p.Header.ContentType()
	switch {
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		return rep.deliveryStatus(p.Body)
	case mt == "message/feedback-report":
		h, err := fieldBlock(p.Body, 64<<10)
		if err != nil {
			return ErrMalformed
		}
		rep.FeedbackType = strings.ToLower(strings.TrimSpace(h.Get("Feedback-Type")))
		rep.OriginalMailFrom = h.Get("Original-Mail-From")
	case mt == "message/rfc822" || mt == "text/rfc822-headers" || mt == "message/rfc822-headers" || mt == "message/global":
		// The original message or its header; a truncated or malformed
		// one still has the fields wanted in the fields that read before
		// the fault (mailtext.LeadingFields), so an error is not fatal.
		b, _ := io.ReadAll(io.LimitReader(p.Body, mimelimit.MaxHeaderBytes))
		h, _ := mailtext.ParseHeader(mailtext.LeadingFields(b))
		rep.ReturnPath, rep.ListUnsubscribe = h.Get("Return-Path"), h.Get("List-Unsubscribe")
	}
	return nil
}

// fieldBlocks reads the first n bytes of a report part's body, to be read
// as blocks of fields by mailtext.ParseHeader. The line ending before the
// part's delimiter belongs to the delimiter, so the last line may lack
// one: it is given one.
func fieldBlocks(body io.Reader, n int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(body, n))
	if err != nil {
		return nil, err
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		if bytes.Contains(b, []byte("\r\n")) {
			b = append(b, '\r')
		}
		b = append(b, '\n')
	}
	return b, nil
}

// fieldBlock reads the first block of fields of a report part's body.
func fieldBlock(body io.Reader, n int64) (mailtext.Header, error) {
	b, err := fieldBlocks(body, n)
	if err != nil {
		return mailtext.Header{}, err
	}
	return mailtext.ParseHeader(b)
}

// deliveryStatus reads the per-message block and the per-recipient blocks
// of a message/delivery-status body (RFC 3464 §2.1), each by
// mailtext.ParseHeader. The per-message block must read; a per-recipient
// block that does not ends the reading.
func (rep *Report) deliveryStatus(body io.Reader) error {
	b, err := fieldBlocks(body, 256<<10)
	if err != nil {
		return ErrMalformed
	}
	h, err := mailtext.ParseHeader(b)
	if err != nil {
		return ErrMalformed // the per-message fields
	}
	for b = b[h.BodyOffset():]; len(b) > 0 && len(rep.Recipients) < maxRecipients; b = b[h.BodyOffset():] {
		if b[0] == '\n' || bytes.HasPrefix(b, []byte("\r\n")) {
			b = b[bytes.IndexByte(b, '\n')+1:] // a stray blank line between blocks
			h = mailtext.Header{}
			continue
		}
		if h, err = mailtext.ParseHeader(b); err != nil {
			break
		}
		rep.Recipients = append(rep.Recipients, RecipientStatus{
			Action: strings.ToLower(strings.TrimSpace(h.Get("Action"))),
			Status: statusCode(h.Get("Status")),
			Code:   diagnosticCode(h.Get("Diagnostic-Code")),
		})
	}
	return nil
}

// statusCode keeps the leading "c.s.d" of a Status field, "" if it has none.
func statusCode(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), " ")
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return ""
	}
	for _, p := range parts {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || len(p) > 3 {
			return ""
		}
	}
	return s
}

// diagnosticCode is the reply code of "smtp; 550 ...", 0 otherwise.
func diagnosticCode(s string) int {
	kind, rest, ok := strings.Cut(s, ";")
	if !ok || !strings.EqualFold(strings.TrimSpace(kind), "smtp") {
		return 0
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 3 {
		return 0
	}
	n, err := strconv.Atoi(rest[:3])
	if err != nil || n < 200 || n > 599 {
		return 0
	}
	return n
}

// Outcome is what a DSN says about the recipient a bounce address names:
// the block that matters (the first failed one, else the first delayed,
// else the first), its class and its status code. A report that is not a
// DSN, or a block that says delivered, relayed or expanded, is bounce.None.
func (rep *Report) Outcome() (bounce.Class, RecipientStatus) {
	if rep.Kind != KindDSN || len(rep.Recipients) == 0 {
		return bounce.None, RecipientStatus{}
	}
	pick := rep.Recipients[0]
	for _, want := range []string{"failed", "delayed"} {
		if i := indexAction(rep.Recipients, want); i >= 0 {
			pick = rep.Recipients[i]
			break
		}
	}
	switch pick.Action {
	case "failed":
		if c := bounce.ByEnhanced(pick.Status, true); c != "" {
			return c, pick
		}
		if pick.Code != 0 {
			return bounce.ByCode(pick.Code, true), pick
		}
		return bounce.Other, pick
	case "delayed":
		return bounce.Soft, pick
	}
	return bounce.None, pick
}

func indexAction(rs []RecipientStatus, action string) int {
	for i, r := range rs {
		if r.Action == action {
			return i
		}
	}
	return -1
}
