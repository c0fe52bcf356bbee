package feedback

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
)

// Target is what one accepted recipient address stands for: the reference
// of a bounce address, the feedback-loop address (Feedback), or the
// address of List-Unsubscribe mailto: requests (Unsubscribe, RFC 2369).
type Target struct {
	Ref         string
	Feedback    bool
	Unsubscribe bool
}

// Handler decides on recipients and acts on reports.
type Handler interface {
	// Recipient resolves a RCPT address: ok false refuses it (550 5.1.1);
	// an error is temporary (451), the sender tries again later.
	Recipient(ctx context.Context, address string) (t Target, ok bool, err error)
	// Report acts on the report one message carried for its recipients.
	// It returns only when what it did is durable; an error is answered
	// 451 and the sender tries again later.
	Report(ctx context.Context, targets []Target, rep *Report) error
}

// Config configures a Server.
type Config struct {
	Addr     string // host:port
	Hostname string
	// TLS, when set, is offered with STARTTLS.
	TLS      *tls.Config
	MaxBytes int64 // per message; default 10 MB
	MaxConns int   // at once; default 100
	// MaxConnsPerIP bounds the connections at once from one client
	// address; default 10. One address cannot take every slot of
	// MaxConns and so keep the real bounces of other senders out.
	MaxConnsPerIP int
	Handler       Handler
	Logger        *slog.Logger
	// Registerer takes the metrics; nil: not registered.
	Registerer prometheus.Registerer
}

// Timeouts of a session.
const (
	commandTimeout  = time.Minute
	sessionLifetime = 10 * time.Minute
	keepBytes       = 1 << 20 // of a report, in memory
	maxRcpts        = 10
)

// Replies; fixed texts, never a Go error's.
var (
	errNoSuchAddress = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such bounce address: this server takes only delivery reports for its own mail"}
	errTempFail      = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Report not recorded, try again later"}
	errMalformed     = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Malformed delivery or feedback report"}
	errTooBig        = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Report too big"}
	errNoRcpt        = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "No valid recipients"}
	errAborted       = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Data not read, closing connection"}
)

// Server is a running report listener.
type Server struct {
	cfg     Config
	srv     *smtp.Server
	ln      net.Listener
	msgs    *prometheus.CounterVec
	reports *prometheus.CounterVec
	refused prometheus.Counter
	done    chan struct{}
}

// Listen starts the listener.
func Listen(cfg Config) (*Server, error) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 10_000_000
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 100
	}
	if cfg.MaxConnsPerIP <= 0 {
		cfg.MaxConnsPerIP = 10
	}
	s := &Server{cfg: cfg, done: make(chan struct{}),
		msgs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sealgate_feedback_messages_total",
			Help: "Messages received on the bounce listener, by result: dsn, arf, other (an autoreply or a bounce in prose: not acted on), malformed, too_big, error (451)."},
			[]string{"result"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sealgate_feedback_reports_total",
			Help: "Reports recorded, by kind (dsn, arf) and class: hard, soft, policy, tls, other, none (a DSN that says delivered or relayed), complaint (arf)."},
			[]string{"kind", "class"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "sealgate_feedback_refused_recipients_total",
			Help: "RCPT addresses the bounce listener refused: not a bounce address with a valid token, nor the feedback address."}),
	}
	for _, r := range []string{"dsn", "arf", "other", "malformed", "too_big", "error"} {
		s.msgs.WithLabelValues(r)
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(s.msgs); err != nil {
			return nil, err
		}
		if err := cfg.Registerer.Register(s.reports); err != nil {
			return nil, err
		}
		if err := cfg.Registerer.Register(s.refused); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s.ln = &limitListener{Listener: ln, sem: make(chan struct{}, cfg.MaxConns), perIP: cfg.MaxConnsPerIP, byIP: map[string]int{}}
	srv := smtp.NewServer(s)
	srv.Domain = cfg.Hostname
	srv.ReadTimeout, srv.WriteTimeout = commandTimeout, commandTimeout
	srv.MaxMessageBytes, srv.MaxRecipients, srv.MaxLineLength = cfg.MaxBytes, maxRcpts, 2000
	srv.TLSConfig = cfg.TLS
	srv.ErrorLog = slogErrors{cfg.Logger}
	s.srv = srv
	go func() {
		defer close(s.done)
		srv.Serve(s.ln)
	}()
	return s, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops listening and ends the sessions, waiting until ctx ends for
// reports being recorded.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sessionLifetime)
	stop := context.AfterFunc(ctx, func() { c.Conn().Close() })
	return &session{s: s, conn: c, ctx: ctx, cancel: func() { stop(); cancel() }}, nil
}

type session struct {
	s       *Server
	conn    *smtp.Conn
	ctx     context.Context
	cancel  func()
	targets []Target
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error { return nil }

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	t, ok, err := ss.s.cfg.Handler.Recipient(ss.ctx, to)
	switch {
	case err != nil:
		ss.s.cfg.Logger.Warn("bounce address not checked", slog.String("error", err.Error()))
		return errTempFail
	case !ok:
		ss.s.refused.Inc()
		return errNoSuchAddress
	}
	if !slices.Contains(ss.targets, t) { // a repeated RCPT is one report
		ss.targets = append(ss.targets, t)
	}
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if len(ss.targets) == 0 {
		return errNoRcpt
	}
	// Only the first keepBytes are kept: the report parts come first, and
	// what follows (the returned message) is read and dropped, so a
	// session holds at most keepBytes however big its report.
	var buf bytes.Buffer
	_, err := buf.ReadFrom(io.LimitReader(r, keepBytes))
	if err == nil {
		_, err = io.Copy(io.Discard, r)
	}
	if err != nil {
		if errors.Is(err, smtp.ErrDataTooLarge) {
			ss.s.msgs.WithLabelValues("too_big").Inc()
			return errTooBig
		}
		if errors.Is(err, smtp.ErrTooLongLine) {
			ss.s.msgs.WithLabelValues("malformed").Inc()
		}
		// The rest of a broken stream is never read as commands: the
		// reply is written here and the connection closed.
		c := ss.conn.Conn()
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "%d %d.%d.%d %s\r\n", errAborted.Code, errAborted.EnhancedCode[0], errAborted.EnhancedCode[1],
			errAborted.EnhancedCode[2], errAborted.Message)
		c.Close()
		return errAborted
	}
	rep, err := Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		ss.s.msgs.WithLabelValues("malformed").Inc()
		return errMalformed
	}
	if host, _, err := net.SplitHostPort(ss.conn.Conn().RemoteAddr().String()); err == nil {
		rep.Remote = host
	}
	if err := ss.s.cfg.Handler.Report(ss.ctx, ss.targets, rep); err != nil {
		ss.s.msgs.WithLabelValues("error").Inc()
		ss.s.cfg.Logger.Warn("report not recorded", slog.String("kind", string(rep.Kind)), slog.String("error", err.Error()))
		return errTempFail
	}
	ss.s.msgs.WithLabelValues(string(rep.Kind)).Inc()
	switch rep.Kind {
	case KindARF:
		ss.s.reports.WithLabelValues(string(KindARF), "complaint").Inc()
	case KindDSN:
		class, _ := rep.Outcome()
		ss.s.reports.WithLabelValues(string(KindDSN), cmp.Or(string(class), "none")).Inc()
	}
	return nil
}

func (ss *session) Reset() { ss.targets = nil }

func (ss *session) Logout() error {
	ss.cancel()
	return nil
}

// limitListener closes connections beyond the limits at once: more than
// cap(sem) in all, or more than perIP from one client address.
type limitListener struct {
	net.Listener
	sem   chan struct{}
	perIP int

	mu   sync.Mutex
	byIP map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := clientIP(c)
		if !l.takeIP(ip) {
			refuse(c, "421 4.7.0 Too many connections from your address\r\n")
			continue
		}
		select {
		case l.sem <- struct{}{}:
			return &releaseConn{Conn: c, release: func() { <-l.sem; l.releaseIP(ip) }}, nil
		default:
			l.releaseIP(ip)
			refuse(c, "421 4.7.0 Too many connections\r\n")
		}
	}
}

// takeIP counts one more connection from ip, unless it has perIP already.
func (l *limitListener) takeIP(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[ip] >= l.perIP {
		return false
	}
	l.byIP[ip]++
	return true
}

func (l *limitListener) releaseIP(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

// clientIP is the address a connection comes from, without the port.
func clientIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}

// refuse answers a connection over a limit and closes it, without
// waiting on a client that does not read.
func refuse(c net.Conn, reply string) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write([]byte(reply))
	c.Close()
}

type releaseConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *releaseConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// slogErrors sends go-smtp's own error log (accept and connection errors,
// never message content) to the operational log.
type slogErrors struct{ l *slog.Logger }

func (e slogErrors) Printf(format string, v ...any) {
	e.l.Debug("bounce listener", slog.String("detail", format))
}
func (e slogErrors) Println(v ...any) { e.l.Debug("bounce listener") }
