package smtpsink

import (
	"io"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// session is one SMTP connection to the sink.
type session struct {
	sink   *Sink
	conn   *smtp.Conn
	authed bool
	sent   int // messages accepted on this connection

	from     string
	mailOpts *smtp.MailOptions
	rcpts    []string
	rcptOpts []*smtp.RcptOptions
}

var errAuthRequired = &smtp.SMTPError{
	Code:         530,
	EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message:      "Authentication required",
}

var errConnLimit = &smtp.SMTPError{
	Code:         421,
	EnhancedCode: smtp.EnhancedCode{4, 7, 0},
	Message:      "Too many messages on this connection",
}

// AuthMechanisms implements smtp.AuthSession.
func (s *session) AuthMechanisms() []string {
	if s.sink.opts.AuthUser == "" {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth implements smtp.AuthSession.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.sink.opts.AuthUser == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if identity != "" && identity != user {
			return smtp.ErrAuthFailed
		}
		if user != s.sink.opts.AuthUser || pass != s.sink.opts.AuthPass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

// Mail implements smtp.Session.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if n := s.sink.opts.MaxPerConn; n > 0 && s.sent >= n {
		// Like a provider that drops senders after N messages: the
		// connection is closed without a reply.
		_ = s.conn.Close()
		return errConnLimit
	}
	if s.sink.opts.AuthUser != "" && !s.authed {
		return errAuthRequired
	}
	s.from, s.mailOpts = from, opts
	return nil
}

// Rcpt implements smtp.Session.
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if f := s.sink.opts.RcptReply; f != nil {
		if e := f(to); e != nil {
			return e
		}
	}
	s.rcpts = append(s.rcpts, to)
	s.rcptOpts = append(s.rcptOpts, opts)
	return nil
}

// Data implements smtp.Session.
func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{
		From:     s.from,
		Rcpts:    append([]string(nil), s.rcpts...),
		Data:     data,
		MailOpts: s.mailOpts,
		RcptOpts: append([]*smtp.RcptOptions(nil), s.rcptOpts...),
		Received: time.Now(),
	}
	if st, ok := s.conn.TLSConnectionState(); ok {
		m.TLS, m.TLSVersion = true, st.Version
	}
	if f := s.sink.opts.DataReply; f != nil {
		if e := f(&m); e != nil {
			return e
		}
	}
	s.sink.record(m)
	s.sent++
	return nil
}

// Reset implements smtp.Session.
func (s *session) Reset() {
	s.from, s.mailOpts, s.rcpts, s.rcptOpts = "", nil, nil, nil
}

// Logout implements smtp.Session.
func (s *session) Logout() error { return nil }
