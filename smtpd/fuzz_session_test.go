package smtpd

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// pipeListener hands the server in-memory connections (net.Pipe) that
// look as if they came from 127.0.0.1, so a fuzz target can drive whole
// SMTP sessions without sockets.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25} }

type loopbackPipe struct{ net.Conn }

func (loopbackPipe) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}

// fuzzServer is a relay listener for the network client "ehr"
// (*@clinic.example.org) served over pipes.
type fuzzServer struct {
	srv *Server
	q   *recQueue
	ln  *pipeListener
}

func newFuzzServer(t testing.TB) *fuzzServer {
	q := &recQueue{}
	s, err := New(Config{
		Hostname:  "gw.example.org",
		Listeners: []Listener{{Name: "relay", Address: "pipe", TLS: "none", Auth: "none"}},
		Clients: []Client{{Name: "ehr", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			AllowedSenders: []string{"*@clinic.example.org", "<>"}}},
		Queue: q,
		Limits: Limits{CommandTimeout: 300 * time.Millisecond, DataTimeout: 300 * time.Millisecond, SessionLifetime: 2 * time.Second,
			MaxMessageBytes: 64 << 10, MaxConnsPerIP: 1000},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	l := &s.cfg.Listeners[0]
	smtpSrv := s.newSMTPServer(l)
	go smtpSrv.Serve(&guardedListener{Listener: ln, perIP: s.perIP, srv: s, listener: l.Name})
	t.Cleanup(func() { smtpSrv.Close(); ln.Close() })
	return &fuzzServer{srv: s, q: q, ln: ln}
}

// fuzzTrailer ends any DATA the input left open and says QUIT, so the
// server closes the session itself once it has answered everything.
const fuzzTrailer = "\r\n.\r\nQUIT\r\n"

// session sends in as one client and returns everything the server said
// until it closed the connection (after QUIT, an abort or a timeout).
func (f *fuzzServer) session(in []byte) []byte {
	client, server := net.Pipe()
	f.ln.conns <- loopbackPipe{server}
	client.SetDeadline(time.Now().Add(10 * time.Second))
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, client); close(done) }()
	client.Write(append(in[:len(in):len(in)], fuzzTrailer...))
	<-done
	client.Close()
	return out.Bytes()
}

// FuzzSession drives whole SMTP sessions with arbitrary client bytes:
// commands, addresses, parameters and message data. No panic is
// recovered, every reply line is well formed and carries no internal
// text, and whatever is queued has an allowed envelope sender and
// passes the header checks again.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"EHLO c.test\r\nMAIL FROM:<doc@clinic.example.org>\r\nRCPT TO:<pat@home.test>\r\nDATA\r\nFrom: doc@clinic.example.org\r\n\r\nhi\r\n.\r\nQUIT\r\n",
		"EHLO c.test\r\nMAIL FROM:<@r.test:doc@clinic.example.org>\r\nRCPT TO:<@evil.test:ceo@example.test>\r\n",
		"NOOP\r\nNOOP\r\nHELO x\r\nMAIL FROM:<> SIZE=10 BODY=8BITMIME\r\nRCPT TO:<a@b.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b.test\r\nBDAT 5 LAST\r\nFrom:\r\n",
		"EHLO c\r\nMAIL FROM:<doc@clinic.example.org> SMTPUTF8\r\nRCPT TO:<\"q x\"@b.test>\r\nDATA\r\nFrom: a@clinic.example.org\r\nSender: b@evil.test\r\n\r\n.\r\n",
		"EHLO c\r\nMAIL FROM:<doc@clinic.example.org>\r\nRCPT TO:<x@y.test>\r\nDATA\r\nResent-From: =?x?q?a?= <e@evil.test>\r\nFrom: doc@clinic.example.org\r\n\r\nbody\n.\r\n",
		"AUTH PLAIN AGRvYwB4\r\nSTARTTLS\r\nRSET\r\nVRFY x\r\nEXPN y\r\nHELP\r\nQUIT\r\n",
	} {
		f.Add([]byte(s))
	}
	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		out := fs.session(in)
		if n := testutil.ToFloat64(fs.srv.m.panics); n != 0 {
			t.Fatalf("%v panics recovered on %q", n, in)
		}
		checkReplies(t, in, out)
		checkQueued(t, fs)
	})
}

func checkReplies(t *testing.T, in, out []byte) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if len(line) < 3 || line[0] < '2' || line[0] > '5' || strings.Trim(line[:3], "0123456789") != "" ||
			len(line) > 3 && line[3] != ' ' && line[3] != '-' {
			t.Fatalf("malformed reply line %q to %q", line, in)
		}
		for _, leak := range []string{"i/o timeout", "pipe", "EOF", "panic", "runtime"} {
			if strings.Contains(line, leak) {
				t.Fatalf("reply %q leaks internal text, to %q", line, in)
			}
		}
	}
}

func checkQueued(t *testing.T, fs *fuzzServer) {
	fs.q.mu.Lock()
	envs, bodies := fs.q.envs, fs.q.bodies
	fs.q.envs, fs.q.bodies = nil, nil
	fs.q.mu.Unlock()
	c := &fs.srv.cfg.Clients[0]
	for i, env := range envs {
		if env.From != "" && !strings.HasSuffix(env.From, "@clinic.example.org") {
			t.Fatalf("queued with envelope sender %q", env.From)
		}
		// The queued body starts with sealgate's Received header.
		body := skipReceived(bodies[i])
		s := &session{client: c}
		if _, err := s.checkHeaders(body); err != nil {
			t.Fatalf("queued a message its header check refuses (%v):\n%q", err, body)
		}
	}
}

// skipReceived drops the Received header sealgate put first.
func skipReceived(b []byte) []byte {
	rest := b
	for {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			return nil
		}
		rest = rest[i+2:]
		if len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\t') {
			return rest
		}
	}
}
