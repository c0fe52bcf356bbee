// Package smtpsink is a loopback SMTP receiver for tests. It records every
// message it accepts, can answer RCPT and DATA with chosen replies, and can
// offer STARTTLS, AUTH, DSN, REQUIRETLS and SMTPUTF8, so delivery code can be
// exercised over real SMTP. It is built on github.com/emersion/go-smtp.
//
// It lives under internal/ and is meant for tests only; it keeps messages in
// memory and has no limits beyond go-smtp's and a few generous timeouts.
package smtpsink

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Options configure a Sink. The zero value is a plaintext sink on
// 127.0.0.1 that accepts everything.
type Options struct {
	// Hostname is the name the sink greets with; default "sink.test".
	Hostname string
	// TLS, when non-nil, makes the sink offer STARTTLS with this config.
	TLS *tls.Config
	// RcptReply, when non-nil, is asked about each RCPT; a non-nil result
	// is sent as the reply and the recipient is refused.
	RcptReply func(rcpt string) *smtp.SMTPError
	// DataReply, when non-nil, is asked about each complete message before
	// it is recorded; a non-nil result refuses the message. It may block
	// (tests use that to hold a transaction open).
	DataReply func(m *Message) *smtp.SMTPError
	// DSN, RequireTLS and SMTPUTF8 advertise those extensions. REQUIRETLS
	// is only advertised over TLS, as go-smtp does.
	DSN, RequireTLS, SMTPUTF8 bool
	// AuthUser and AuthPass, when non-empty, make the sink offer AUTH PLAIN
	// (over TLS only) and refuse MAIL before a successful AUTH.
	AuthUser, AuthPass string
	// Addr is the listen address; default "127.0.0.1:0".
	Addr string
	// MaxBytes is the advertised SIZE limit (RFC 1870); default 64 MiB.
	MaxBytes int64
	// ImplicitTLS makes the sink speak TLS from the first byte (port 465
	// style) with the TLS config instead of offering STARTTLS.
	ImplicitTLS bool
	// MaxPerConn, when positive, makes the sink close a connection
	// (without a reply) at the next MAIL once that many messages were
	// accepted on it, as providers that limit messages per connection do.
	MaxPerConn int
}

// Message is one message the sink accepted (or was asked about in DataReply).
type Message struct {
	From       string
	Rcpts      []string
	Data       []byte
	TLS        bool
	TLSVersion uint16
	MailOpts   *smtp.MailOptions
	RcptOpts   []*smtp.RcptOptions
	Received   time.Time
}

// Sink is a running loopback SMTP receiver.
type Sink struct {
	// Addr is the address the sink listens on, "host:port".
	Addr string

	opts Options
	srv  *smtp.Server

	mu        sync.Mutex
	msgs      []Message
	conns     int
	active    int
	maxActive int
	live      map[net.Conn]bool
	changed   chan struct{} // closed and replaced whenever msgs grows
}

// Start runs a sink until the test ends (it closes itself through
// t.Cleanup). It fails the test if it cannot listen.
func Start(t testing.TB, opts Options) *Sink {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Hostname == "" {
		opts.Hostname = "sink.test"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		t.Fatalf("smtpsink: listen: %v", err)
	}
	s := &Sink{Addr: ln.Addr().String(), opts: opts, changed: make(chan struct{}), live: make(map[net.Conn]bool)}
	ln = &countingListener{Listener: ln, sink: s}
	if opts.ImplicitTLS {
		if opts.TLS == nil {
			t.Fatal("smtpsink: ImplicitTLS needs a TLS config")
		}
		ln = tls.NewListener(ln, opts.TLS)
	}
	s.srv = s.newServer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = s.srv.Close()
		// go-smtp's Close misses a listener that Serve has not registered
		// yet, so close it here too.
		_ = ln.Close()
		<-done
	})
	return s
}

func (s *Sink) newServer() *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = s.opts.Hostname
	if !s.opts.ImplicitTLS {
		srv.TLSConfig = s.opts.TLS
	}
	srv.EnableDSN = s.opts.DSN
	srv.EnableREQUIRETLS = s.opts.RequireTLS
	srv.EnableSMTPUTF8 = s.opts.SMTPUTF8
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 64 << 20
	if s.opts.MaxBytes > 0 {
		srv.MaxMessageBytes = s.opts.MaxBytes
	}
	srv.ErrorLog = log.New(io.Discard, "", 0)
	return srv
}

// newSession is called for each connection and again after STARTTLS.
func (s *Sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{sink: s, conn: c}, nil
}

// countingListener counts connections (not go-smtp sessions, which restart
// after STARTTLS).
type countingListener struct {
	net.Listener
	sink *Sink
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countedConn{Conn: c, sink: l.sink}
	s := l.sink
	s.mu.Lock()
	s.live[cc] = true
	s.conns++
	s.active++
	s.maxActive = max(s.maxActive, s.active)
	s.mu.Unlock()
	return cc, nil
}

// countedConn leaves the count when it is closed.
type countedConn struct {
	net.Conn
	sink *Sink
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		s := c.sink
		s.mu.Lock()
		delete(s.live, c)
		s.active--
		s.mu.Unlock()
	})
	return c.Conn.Close()
}

// CloseConns drops every open connection without a reply, as a server
// that timed out idle clients would.
func (s *Sink) CloseConns() {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.live))
	for c := range s.live {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (s *Sink) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// Messages returns a copy of the messages accepted so far, oldest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count is the number of messages accepted so far.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Conns is the number of SMTP connections the sink has accepted.
func (s *Sink) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// MaxActive is the largest number of connections that were open at once.
func (s *Sink) MaxActive() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxActive
}

// ErrTimeout is returned by Wait when too few messages arrived in time.
var ErrTimeout = errors.New("smtpsink: timed out waiting for messages")

// Wait blocks until at least n messages were accepted or timeout passes,
// and returns the messages received so far either way.
func (s *Sink) Wait(n int, timeout time.Duration) ([]Message, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Messages(), nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return s.Messages(), fmt.Errorf("%w: have %d, want %d", ErrTimeout, got, n)
		}
	}
}
