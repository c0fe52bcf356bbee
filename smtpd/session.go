package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/mail"
)

// session is one SMTP connection. go-smtp calls its methods from the
// connection's goroutine (Data for BDAT from a second one, while the first
// waits).
type session struct {
	srv    *Server
	lst    *Listener
	conn   *smtp.Conn
	guard  *guardConn
	ctx    context.Context
	cancel context.CancelFunc
	remote netip.Addr
	log    *slog.Logger

	authClient   *Client // after a successful AUTH
	authFailures int

	// The transaction in progress.
	client   *Client
	from     string // canonical; "" = null sender
	mailOpts smtp.MailOptions
	rcpts    []mail.Rcpt
}

var errNotGuarded = errors.New("smtpd: connection not guarded")

func (s *Server) newSession(c *smtp.Conn, l *Listener) (smtp.Session, error) {
	g := guardOf(c.Conn())
	if g == nil {
		// go-smtp would send this error's text to the client: answer with
		// the fixed internal-error reply and log the cause instead.
		s.log.Error("connection not guarded", slog.String("listener", l.Name))
		return nil, s.toReply(errNotGuarded, "")
	}
	if err := s.refusing(); err != nil {
		return nil, s.toReply(err, "")
	}
	ctx, cancel := context.WithCancel(context.Background())
	sess := &session{srv: s, lst: l, conn: c, guard: g, ctx: ctx, cancel: cancel,
		remote: remoteIP(g.Conn), log: s.log.With(slog.String("conn", mail.NewID()[12:]), slog.String("listener", l.Name))}
	return sess, nil
}

// guardOf finds sealgate's guard under a (possibly TLS) connection.
func guardOf(c any) *guardConn {
	for {
		switch v := c.(type) {
		case *releasingConn:
			return v.guardConn
		case *guardConn:
			return v
		case *cmdConn:
			return v.guard
		case *tls.Conn:
			c = v.NetConn()
		default:
			return nil
		}
	}
}

// guarded runs one command handler with the checks every command needs:
// the session must not have been aborted, and a panic is recovered,
// counted and turned into 421 plus the end of the connection.
func (s *session) guarded(queueID *string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.srv.m.panics.Inc()
			s.log.Error("panic in SMTP command", slog.String("panic", panicText(r)))
			s.guard.CloseAfterReply("panic")
			err = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Internal error, closing connection"}
		}
	}()
	if s.guard.Broken() {
		return s.srv.toReply(errAborted, "")
	}
	if err := fn(); err != nil {
		id := ""
		if queueID != nil {
			id = *queueID
		}
		s.auditRejection(err)
		return s.srv.toReply(err, id)
	}
	return nil
}

// auditRejection records a refused command or message in the operational
// log and the audit log: which client, from where, and the reason label —
// no addresses or content.
func (s *session) auditRejection(err error) {
	var r *rejection
	if !errors.As(err, &r) {
		return
	}
	name := ""
	if c := s.client; c != nil {
		name = c.Name
	} else if c := s.authClient; c != nil {
		name = c.Name
	}
	s.log.Info("rejected", slog.String("reason", r.reason), slog.Int("code", r.reply.Code),
		slog.String("client", name))
	if s.srv.cfg.Audit != nil {
		s.srv.cfg.Audit.Rejected(name, s.remote.String(), r.reason)
	}
}

func (s *session) isTLS() bool {
	_, ok := s.tlsState()
	return ok
}

// tlsState is the connection's TLS state: sealgate runs TLS below go-smtp,
// so go-smtp's own TLSConnectionState does not know it.
func (s *session) tlsState() (tls.ConnectionState, bool) {
	if c, ok := s.conn.Conn().(*cmdConn); ok {
		return c.TLS()
	}
	return s.conn.TLSConnectionState()
}

// Mail starts a transaction: the client must be identified, over TLS when
// the listener has it, and the sender must be one it may use.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	return s.guarded(nil, func() error {
		if s.lst.TLS != "none" && !s.isTLS() {
			return errTLSRequired
		}
		if err := s.srv.refusing(); err != nil {
			return err
		}
		c, err := s.identify()
		if err != nil {
			return err
		}
		if s.sourceRoute() {
			return errBadAddress
		}
		if opts != nil && opts.RequireTLS && !s.isTLS() {
			return errRequireTLSNoTL
		}
		utf8 := opts != nil && opts.UTF8
		canon, err := checkSender(c, from, utf8)
		if err != nil {
			return err
		}
		if err := s.checkSpace(opts); err != nil {
			return err
		}
		if !s.srv.sendRate.allow(c.Name, time.Now()) {
			return errRateLimit
		}
		s.client, s.from, s.rcpts = c, canon, nil
		s.mailOpts = smtp.MailOptions{}
		if opts != nil {
			s.mailOpts = *opts
		}
		return nil
	})
}

// checkSpace asks the queue, when it keeps a free-space reserve, whether
// the message announced by MAIL still fits.
func (s *session) checkSpace(opts *smtp.MailOptions) error {
	sc, ok := s.srv.cfg.Queue.(SpaceChecker)
	if !ok {
		return nil
	}
	var size int64
	if opts != nil {
		size = opts.Size
	}
	if err := sc.CheckSpace(size); err != nil {
		s.log.Warn("new mail refused: spool storage", slog.String("error", err.Error()))
		return errNoStorage
	}
	return nil
}

// Rcpt adds a recipient after strict re-parsing: go-smtp un-quotes local
// parts and strips source routes, which relayed as-is could inject ESMTP
// parameters into the next hop's session.
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	return s.guarded(nil, func() error {
		if s.client == nil {
			return errAuthRequired
		}
		if s.sourceRoute() {
			return errBadAddress
		}
		a, err := addr.Parse(to, addr.Options{SMTPUTF8: s.mailOpts.UTF8})
		if err != nil {
			return addrError(err)
		}
		if err := s.checkSuppressed(a.String()); err != nil {
			return err
		}
		r := mail.Rcpt{Addr: a.String()}
		if opts != nil {
			for _, n := range opts.Notify {
				r.Notify = append(r.Notify, string(n))
			}
		}
		orcpt, err := s.originalRecipient(opts)
		if err != nil {
			return err
		}
		r.ORCPT = orcpt
		s.rcpts = append(s.rcpts, r)
		return nil
	})
}

// checkSuppressed refuses a marketing client's recipient who is on the
// suppression list of the envelope sender's domain, and every recipient of
// a marketing client's null-sender mail (it has no list to honour).
// Transactional clients are checked only when configured to be.
func (s *session) checkSuppressed(rcpt string) error {
	return s.srv.checkSuppressed(s.ctx, s.client, s.from, rcpt, s.log)
}

// suppressionTimeout bounds one suppression look-up: a shared store that
// does not answer is 451 4.3.0 within seconds, not a stalled RCPT.
const suppressionTimeout = 10 * time.Second

// checkSuppressed is the suppression check of a message from client c
// with envelope sender from.
func (srv *Server) checkSuppressed(ctx context.Context, c *Client, from, rcpt string, log *slog.Logger) error {
	if !c.Marketing && !c.CheckSuppression {
		return nil
	}
	domain := addr.DomainOf(from) // the last '@', as the unsubscribe link and bounces read it
	if domain == "" && !c.Marketing {
		return nil // a transactional client's bounces: no list to honour
	}
	if domain == "" {
		// The null sender has no suppression list to honour: a campaign
		// sent as <> would reach every unsubscribed address.
		return errMarketingNull
	}
	if srv.cfg.Suppressions == nil {
		return errSuppressionDown
	}
	ctx, cancel := context.WithTimeout(ctx, suppressionTimeout)
	defer cancel()
	hit, err := srv.cfg.Suppressions.Suppressed(ctx, domain, rcpt)
	if err != nil {
		log.Warn("suppression list unavailable", slog.String("error", err.Error()))
		return errSuppressionDown
	}
	if hit {
		return errSuppressed
	}
	return nil
}

// sourceRoute reports whether the MAIL or RCPT being handled carried a
// source route. RFC 5321 §4.1.1.3 lets a server ignore the route; sealgate
// refuses the address instead (553 5.1.3), so a client that meant the
// route learns that it was not followed.
func (s *session) sourceRoute() bool {
	c, ok := s.conn.Conn().(*cmdConn)
	return ok && c.takeSourceRoute()
}

// originalRecipient is the RCPT's ORCPT (RFC 3461 §4.2) in the form the
// queue keeps: "rfc822;addr", or "utf-8;addr" (RFC 6533) when the address
// is beyond US-ASCII, whichever form the client sent it in. sealgate reads
// the parameter itself (cmdConn); go-smtp's reading is used only where
// sealgate's is not in the path.
func (s *session) originalRecipient(opts *smtp.RcptOptions) (string, error) {
	raw := ""
	if c, ok := s.conn.Conn().(*cmdConn); ok {
		if o := c.takeORCPT(); o != nil {
			raw = o.addr
		}
	}
	if raw == "" && opts != nil {
		raw = opts.OriginalRecipient
	}
	if raw == "" {
		return "", nil
	}
	o, err := addr.Parse(raw, addr.Options{SMTPUTF8: true, AllowQuoted: true})
	if err != nil {
		return "", errBadParam
	}
	v := o.String()
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			return "utf-8;" + v, nil
		}
	}
	return "rfc822;" + v, nil
}

// Reset ends the transaction, keeping the connection's identity.
func (s *session) Reset() {
	s.client, s.from, s.rcpts = nil, "", nil
	s.mailOpts = smtp.MailOptions{}
}

// Logout releases the session's resources.
func (s *session) Logout() error {
	s.cancel()
	return nil
}

// AuthMechanisms lists PLAIN and LOGIN on listeners that take AUTH, once
// the connection is under TLS.
func (s *session) AuthMechanisms() []string {
	if s.lst.Auth == "none" || !s.isTLS() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth returns the SASL server for a mechanism.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.guard.Broken() || s.lst.Auth == "none" {
		return nil, smtp.ErrAuthUnsupported
	}
	if !s.isTLS() {
		return nil, errAuthNeedsTLS
	}
	check := func(identity, user, pass string) error {
		return s.authenticate(identity, user, pass)
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(check), nil
	case sasl.Login:
		return newLoginServer(check), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

var _ smtp.AuthSession = (*session)(nil)

// Data is defined in data.go.
var _ interface{ Data(io.Reader) error } = (*session)(nil)

// panicText describes a recovered panic value for the log: a runtime
// error's own text (fixed, with numbers and type names only), else only the
// value's type. A value made by code can quote what it was working on,
// here an address or message content.
func panicText(r any) string {
	if e, ok := r.(runtime.Error); ok {
		return e.Error()
	}
	return fmt.Sprintf("%T", r)
}
