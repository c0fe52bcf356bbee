package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	// Registers the charsets go-message can decode (ISO-8859-x, Windows-125x, ...).
	_ "github.com/emersion/go-message/charset"

	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mailtext"
	"github.com/sealgate/sealgate/policy/detect"
)

// Engine checks messages against a policy. It is safe for concurrent use; all its state
// is read-only after New.
type Engine struct {
	cfg  Config
	an   *detect.Analyzer
	bufs sync.Pool // *bytes.Buffer for decoded part bodies
	bags sync.Pool // *detect.Bag for the scorer's word buckets
}

// Input is what the SMTP session knows about a message besides its content.
type Input struct {
	Sender     string   // envelope sender (MAIL FROM)
	Client     string   // name of the authenticated client, from the configuration
	Recipients []string // envelope recipients (RCPT TO)
	// Header is the message's header as the caller read it with
	// mailtext.ParseHeader (smtpd does as it takes the message), so that it
	// is not read again; nil: Check reads it.
	Header *mailtext.Header
}

// New validates cfg, fills in defaults and loads the vocabularies.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	an, err := detect.NewAnalyzer()
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if trainedModel.err != nil {
		return nil, trainedModel.err
	}
	e := &Engine{cfg: cfg, an: an}
	e.bufs.New = func() any { return new(bytes.Buffer) }
	e.bags.New = func() any { return detect.NewBag(bagSize) }
	return e, nil
}

// Check reads msg (a whole RFC 5322 message, CRLF or LF line endings) and returns its
// verdict. A message that cannot be fully read within the limits still gets a verdict;
// the unread content counts as unreadable. The error is non-nil only when ctx was
// cancelled by the caller; the verdict is then the conservative one for what was read.
func (e *Engine) Check(ctx context.Context, msg []byte, in Input) (Verdict, error) {
	cctx, cancel := context.WithTimeout(ctx, e.cfg.Limits.MaxTime)
	defer cancel()
	s := e.scanMessage(cctx, msg, in.Header)
	v := e.decide(s, in)
	s.opt.Bag.Reset()
	e.bags.Put(s.opt.Bag)
	if err := ctx.Err(); err != nil {
		return v, fmt.Errorf("policy: check cancelled: %w", err)
	}
	return v, nil
}

// scanMessage walks msg (h is its header, or nil) and runs the detectors
// over everything it can read.
func (e *Engine) scanMessage(ctx context.Context, msg []byte, h *mailtext.Header) *scan {
	s := newScan(ctx, e)
	e.walk(s, msg, h)
	return s
}

// walk reads msg into s; h is its header, or nil to read it here. A header
// that does not read (mailtext.ParseHeader) leaves the message unreadable:
// it is analysed as plain text, and cannot be cleared.
func (e *Engine) walk(s *scan, msg []byte, h *mailtext.Header) {
	if h == nil {
		parsed, err := mailtext.ParseHeader(msg)
		if err != nil {
			s.markUnreadable("", headerReason(err))
			s.rawFallback(msg)
			return
		}
		h = &parsed
	}
	if err := s.whole(msg, h); err != nil && err != errStop {
		s.rawFallback(msg)
	}
	if s.parts == 0 {
		s.rawFallback(msg)
	}
}

// headerReason is the unreadable reason for a header that does not read:
// over a limit, or malformed.
func headerReason(err error) string {
	if errors.Is(err, mailtext.ErrHeaderSyntax) {
		return unreadStructure
	}
	return unreadLimit
}

// decide turns what the scan found into a verdict.
func (e *Engine) decide(s *scan, in Input) Verdict {
	score := trainedModel.prob(s.vector())
	if !s.healthContext() {
		score = 0 // nothing places the message in health care: no health information to protect
	}
	v := Verdict{PHI: score >= modelThreshold || structuredRecord(&s.total), Score: math.Round(score*1000) / 1000,
		Reasons: s.reasons, BytesScanned: s.scanned, Action: ActionDeliver}
	if v.Reasons == nil {
		v.Reasons = []Reason{}
	}
	if s.unreadable > 0 {
		v.Unreadable = true
		if e.cfg.Unreadable != ActionDeliver {
			v.PHI = true
			v.Action = e.cfg.Unreadable
		}
	}
	if v.PHI || e.cfg.DefaultAction == DefaultEncryptAll {
		v.Action = raise(v.Action, ActionEncrypt)
	}
	v.SubjectTag = e.findTag(s.subject)
	if v.SubjectTag != "" {
		v.Action = raise(v.Action, ActionEncrypt)
	}
	e.applyRules(&v, s, in)
	return v
}

// raise returns the more protective of two actions.
func raise(cur, next mail.Action) mail.Action {
	if level(next) > level(cur) {
		return next
	}
	return cur
}

// findTag returns the first configured tag present in subject, as the configuration
// spells it.
func (e *Engine) findTag(subject string) string {
	ls := strings.ToLower(subject)
	for _, t := range e.cfg.SubjectTags {
		if strings.Contains(ls, strings.ToLower(t)) {
			return t
		}
	}
	return ""
}

// StripSubjectTag removes the first occurrence of tag from subject, ignoring case, and
// tidies the spaces left behind: "[secure] Lab results" -> "Lab results".
func StripSubjectTag(subject, tag string) string {
	if tag == "" {
		return subject
	}
	for i := 0; i+len(tag) <= len(subject); i++ {
		if strings.EqualFold(subject[i:i+len(tag)], tag) {
			return strings.Join(strings.Fields(subject[:i]+" "+subject[i+len(tag):]), " ")
		}
	}
	return subject
}

// putBuffer returns a body buffer to the pool unless it grew large: one big attachment
// should not pin its memory for the life of the engine.
func (e *Engine) putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 4<<20 {
		e.bufs.Put(b)
	}
}
