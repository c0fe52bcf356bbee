package smtpd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mailtext"
)

// Data reads the message, checks it and queues it. It answers 250 only
// after the queue has the message on disk, and the 250 names the queue ID
// (for DATA and BDAT alike), so a client's log can be matched to
// sealgate's.
func (s *session) Data(r io.Reader) error {
	var queueID string
	err := s.guarded(&queueID, func() error {
		if s.client == nil || len(s.rcpts) == 0 {
			return errAuthRequired
		}
		s.guard.SetReadDeadline(time.Now().Add(s.srv.cfg.Limits.DataTimeout))
		body, err := s.readBody(r)
		if err != nil {
			return err
		}
		h, err := s.checkHeaders(body)
		if err != nil {
			return err
		}
		queueID = mail.NewID()
		return s.accept(queueID, body, &h)
	})
	if err == nil && queueID != "" {
		return queuedReply(queueID)
	}
	return err
}

// queuedReply is the 250 for a message on disk. go-smtp sends a returned
// *smtp.SMTPError as the reply, whatever its code.
func queuedReply(queueID string) error {
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK: queued as " + queueID}
}

// readBody reads the whole message and enforces CRLF line endings. Any
// read error other than the size limit ends the session after the reply:
// the rest of a broken DATA stream is never parsed as commands.
func (s *session) readBody(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	if n := s.mailOpts.Size; n > 0 && n <= s.srv.cfg.Limits.MaxMessageBytes {
		buf.Grow(int(n) + 512)
	}
	_, err := buf.ReadFrom(&crlfReader{r: r})
	switch {
	case err == nil:
		return buf.Bytes(), nil
	case errors.Is(err, smtp.ErrDataTooLarge):
		return nil, errTooBig
	case errors.Is(err, errBareLineEnding):
		s.guard.CloseAfterReply("bare_newline")
		return nil, errBareNewline
	case errors.Is(err, smtp.ErrTooLongLine):
		s.guard.CloseAfterReply("line_too_long")
		return nil, errLineTooLong
	}
	s.guard.CloseAfterReply("data_error")
	return nil, errAborted
}

var errBareLineEnding = errors.New("bare CR or LF in message")

// crlfReader fails on a bare CR or LF: such a message could be read
// differently by the next hop (SMTP smuggling).
type crlfReader struct {
	r      io.Reader
	prevCR bool
}

func (c *crlfReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for _, b := range p[:n] {
		if (c.prevCR && b != '\n') || (!c.prevCR && b == '\n') {
			return 0, errBareLineEnding
		}
		c.prevCR = b == '\r'
	}
	if err == io.EOF && c.prevCR {
		return n, errBareLineEnding
	}
	return n, err
}

// accept runs the policy, adds the Received header and queues.
func (s *session) accept(id string, body []byte, h *mailtext.Header) error {
	a := admission{id: id, channel: s.lst.Name, client: s.client, from: s.from, rcpts: s.rcpts, header: h,
		remote: s.remote.String(), opts: s.mailOpts, received: s.received, log: s.log}
	if s.authClient != nil {
		a.authUser = s.authClient.Username
	}
	return s.srv.admit(s.ctx, a, body)
}

// admission is one message on its way into the queue, however it came:
// an SMTP transaction or a Submission. Both take the same road from here.
type admission struct {
	id       string
	channel  string // the listener's name, or "api": the accepted metric's label
	client   *Client
	from     string
	rcpts    []mail.Rcpt
	header   *mailtext.Header // the message's header, read once by checkHeaders
	remote   string
	authUser string
	opts     smtp.MailOptions
	received func(id string) []byte // the Received field, ending in CRLF
	log      *slog.Logger
}

// admit runs the policy, adds the Received header and queues; it returns
// only once the message is durable (or refused).
func (srv *Server) admit(ctx context.Context, a admission, body []byte) error {
	v, err := srv.verdict(ctx, a, body)
	if err != nil {
		return err
	}
	if v.Action == mail.ActionBlock {
		return errPolicyBlock
	}
	env := a.envelope(v)
	env.Hold = v.Action == mail.ActionQuarantine
	full := append(a.received(a.id), stripSubjectTag(body, a.header, v.SubjectTag)...)
	if _, err := srv.cfg.Queue.Enqueue(ctx, env, full); err != nil {
		if errors.Is(err, mail.ErrQueueClosed) {
			return errShutdown
		}
		a.log.Error("enqueue failed", slog.String("queue_id", a.id), slog.String("error", err.Error()))
		if mail.IsInsufficientStorage(err) {
			return errNoStorage
		}
		return err
	}
	srv.m.accepted.WithLabelValues(a.channel).Inc()
	if srv.cfg.Audit != nil {
		srv.cfg.Audit.Accepted(env)
	}
	a.log.Info("accepted", slog.String("queue_id", a.id), slog.String("client", a.client.Name),
		slog.Int("rcpts", len(a.rcpts)), slog.Int("size", len(full)), slog.String("action", string(v.Action)))
	return nil
}

func (srv *Server) verdict(ctx context.Context, a admission, body []byte) (Verdict, error) {
	if srv.cfg.Policy == nil {
		return Verdict{PolicySummary: mail.PolicySummary{Action: mail.ActionDeliver}}, nil
	}
	rcpts := make([]string, len(a.rcpts))
	for i, r := range a.rcpts {
		rcpts[i] = r.Addr
	}
	v, err := srv.cfg.Policy.Check(ctx, body, PolicyInput{Sender: a.from, Client: a.client.Name, Recipients: rcpts, Header: a.header})
	if err != nil {
		return Verdict{}, fmt.Errorf("policy: %w", err)
	}
	srv.m.verdicts.WithLabelValues(string(v.Action), fmt.Sprint(v.PHI)).Inc()
	return v, nil
}

func (a *admission) envelope(v Verdict) *mail.Envelope {
	o := a.opts
	env := &mail.Envelope{
		ID: a.id, From: a.from, Rcpts: a.rcpts, Received: time.Now(),
		Client: a.client.Name, ClientAddr: a.remote, AuthUser: a.authUser,
		SMTPUTF8: o.UTF8, EightBit: o.Body == smtp.Body8BitMIME, RequireTLS: o.RequireTLS,
		Ret: string(o.Return), EnvID: o.EnvelopeID,
		Policy: v.PolicySummary,
	}
	if v.Action == mail.ActionEncrypt || v.PHI || o.RequireTLS {
		// Until a message-level protection is chosen for it, PHI leaves
		// only over TLS with a verified certificate, never in the clear; the
		// tls method asks more (an authenticated hop, mail.TLSAuthenticated).
		env.TLS = mail.TLSVerify
	}
	return env
}

// received builds the trace header (RFC 5321 §4.4). It names the client's
// HELO and IP and the TLS version, never a recipient or subject. The TLS
// note is a comment inside the clauses, before the ";" and the date; the
// protocol is ESMTP or, for an SMTPUTF8 transaction, UTF8SMTP (RFC 6531
// §3.7.3), with "S" for TLS and "A" for AUTH (RFC 3848).
func (s *session) received(id string) []byte {
	proto := "ESMTP"
	if s.mailOpts.UTF8 {
		proto = "UTF8SMTP"
	}
	tlsNote := ""
	if st, ok := s.tlsState(); ok {
		proto += "S"
		tlsNote = fmt.Sprintf("\r\n\t(using %s)", tlsVersionName(st.Version))
	}
	if s.authClient != nil {
		proto += "A"
	}
	return fmt.Appendf(nil, "Received: from %s (%s)%s\r\n\tby %s (sealgate) with %s id %s;\r\n\t%s\r\n",
		cleanHelo(s.conn.Hostname()), s.remote, tlsNote, s.srv.cfg.Hostname, proto, id,
		time.Now().Format(time.RFC1123Z))
}

func tlsVersionName(v uint16) string {
	switch v {
	case 0x0303:
		return "TLS1.2"
	case 0x0304:
		return "TLS1.3"
	}
	return "TLS"
}

// cleanHelo keeps a HELO name safe to put in a header.
func cleanHelo(h string) string {
	h = strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f && !strings.ContainsRune("()<>;\\\"[]", r) || r == '[' || r == ']' {
			return r
		}
		return -1
	}, h)
	if len(h) > 64 {
		h = h[:64]
	}
	if h == "" {
		h = "unknown"
	}
	return h
}
