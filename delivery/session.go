package delivery

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/sealgate/sealgate/mail"
)

// session is one SMTP connection, ready for MAIL.
type session struct {
	client *smtp.Client
	conn   net.Conn // transport under client (TLS or TCP), for deadlines
	hop    hop
	dst    string // pool destination (hop host:port)
	key    string // pool key (destination and TLS level)

	tlsVersion string            // "TLS1.2", "TLS1.3" or "" for plaintext
	verified   bool              // peer authenticated (PKIX for hop.host, or DANE)
	cipher     string            // TLS cipher suite name, "" for plaintext
	method     mail.Verification // how: dane, mta-sts, pinned, pkix; "" if not
	verifyErr  error             // why the peer was not authenticated, if it was not
	reused     bool              // taken from the idle pool
	sent       int               // messages the server accepted on this connection
	idleSince  time.Time
}

// close drops the connection without QUIT.
func (s *session) close() { _ = s.client.Close() }

// quit ends the session politely, bounded by a short timeout.
func (s *session) quit() {
	s.client.CommandTimeout = 2 * time.Second
	if err := s.client.Quit(); err != nil {
		s.close()
	}
}

// has reports whether the server advertised an ESMTP extension.
func (s *session) has(ext string) bool {
	ok, _ := s.client.Extension(ext)
	return ok
}

// aLongTimeAgo is a deadline in the past, to interrupt blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// setupRequest is what open needs to make a session for one hop.
type setupRequest struct {
	hop   hop
	level mail.TLSLevel
	dst   string
	key   string
}

// open dials req.hop and sets up a session at req.level. With TLSMay, a
// failed STARTTLS or handshake is retried once in plaintext on a new
// connection, as Postfix's opportunistic TLS does.
func (c *Client) open(ctx context.Context, req setupRequest) (*session, *Error) {
	s, err := c.openOnce(ctx, req)
	if err == nil || req.level != mail.TLSMay || err.Command != CmdTLS {
		return s, err
	}
	c.metrics.connect(connectPlainFB)
	c.log.Debug("opportunistic TLS failed, retrying in plaintext",
		slog.String("host", req.hop.host), slog.String("error", err.Error()))
	req.level = mail.TLSNone
	return c.openOnce(ctx, req)
}

func (c *Client) openOnce(ctx context.Context, req setupRequest) (*session, *Error) {
	conn, err := c.dialHop(ctx, req.hop)
	if err != nil {
		c.metrics.connect(connectDial)
		return nil, err
	}
	s := &session{conn: conn, hop: req.hop, dst: req.dst, key: req.key}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(aLongTimeAgo) })
	defer stop()
	if err := c.setup(ctx, s, req.level); err != nil {
		_ = s.conn.Close()
		c.metrics.connect(setupResult(err))
		c.reportSession(req, s, err)
		return nil, err
	}
	c.metrics.connect(connectOK)
	c.reportSession(req, s, nil)
	c.log.Debug("connected", slog.String("host", req.hop.host), slog.String("tls", s.tlsVersion),
		slog.String("cipher", s.cipher), slog.Bool("verified", s.verified), slog.String("method", string(s.method)))
	return s, nil
}

func setupResult(err *Error) string {
	switch err.Command {
	case CmdTLS, "STARTTLS":
		return connectTLS
	case "AUTH":
		return connectAuth
	}
	return connectSMTP
}

// setup greets, negotiates TLS as level requires, says EHLO and
// authenticates to a smarthost.
func (c *Client) setup(ctx context.Context, s *session, level mail.TLSLevel) *Error {
	var err *Error
	switch {
	case s.hop.implicitTLS:
		err = c.implicitTLS(ctx, s, level)
	case level == mail.TLSNone:
		s.client = smtp.NewClient(s.conn)
	default:
		err = c.startTLS(ctx, s, level)
	}
	if err != nil {
		return err
	}
	s.client.CommandTimeout = c.cfg.CommandTimeout
	s.client.SubmissionTimeout = c.cfg.DataTimeout
	if err := s.client.Hello(c.cfg.Hostname); err != nil {
		return replyError(err, "EHLO", s.hop.host)
	}
	if s.hop.auth {
		return c.auth(s)
	}
	return nil
}

// implicitTLS runs the TLS handshake first (port 465 style).
func (c *Client) implicitTLS(ctx context.Context, s *session, level mail.TLSLevel) *Error {
	tc, err := c.handshake(ctx, s, level)
	if err != nil {
		return err
	}
	s.client = smtp.NewClient(tc)
	return nil
}

// handshake runs the TLS client handshake on s.conn and records the result.
func (c *Client) handshake(ctx context.Context, s *session, level mail.TLSLevel) (net.Conn, *Error) {
	_ = s.conn.SetDeadline(time.Now().Add(c.cfg.CommandTimeout))
	tc := tls.Client(s.conn, c.tlsConfig(s, level))
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, localError(false, "4.7.5", CmdTLS, s.hop.host, "TLS handshake or certificate check failed", err)
	}
	_ = s.conn.SetDeadline(time.Time{})
	cs := tc.ConnectionState()
	s.tlsVersion, s.cipher = tlsVersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite)
	s.conn = tc
	return tc, nil
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return strings.ReplaceAll(tls.VersionName(v), " ", "")
}

// greeted makes a connection whose first reply is a synthetic greeting, so
// go-smtp's client can continue a session that sealgate started itself
// (after STARTTLS, a new EHLO follows, as RFC 3207 §4.2 requires).
type greeted struct {
	net.Conn
	r io.Reader
}

func (g *greeted) Read(p []byte) (int, error) { return g.r.Read(p) }

func newGreeted(conn net.Conn, rest io.Reader) *greeted {
	return &greeted{Conn: conn, r: io.MultiReader(strings.NewReader("220 continued\r\n"), rest)}
}
