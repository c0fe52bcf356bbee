package smtpd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/passwd"
)

// recQueue records what smtpd hands to the queue.
type recQueue struct {
	mu     sync.Mutex
	envs   []*mail.Envelope
	bodies [][]byte
	err    error
	space  error // CheckSpace's answer
}

func (q *recQueue) CheckSpace(size int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.space
}

func (q *recQueue) Enqueue(_ context.Context, env *mail.Envelope, body []byte) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return "", q.err
	}
	q.envs = append(q.envs, env)
	q.bodies = append(q.bodies, append([]byte(nil), body...))
	return env.ID, nil
}

func (q *recQueue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.envs)
}

const testPassword = "correct horse battery staple"

var (
	hashOnce sync.Once
	hashVal  string
)

func testHash(t testing.TB) string {
	hashOnce.Do(func() {
		h, err := passwd.Hash([]byte(testPassword))
		if err != nil {
			t.Fatal(err)
		}
		hashVal = h
	})
	return hashVal
}

type harness struct {
	srv      *Server
	q        *recQueue
	ca       *smtpsink.TestCA
	reg      *prometheus.Registry
	subm     string // starttls, auth required
	relay    string // plaintext loopback, network clients
	implicit string // implicit TLS, auth optional
}

// newHarness starts smtpd on loopback with three listeners and two
// clients: "marketing" (AUTH, *@news.example.org) and "ehr" (network
// 127.0.0.0/8, *@clinic.example.org).
func newHarness(t testing.TB, mod func(*Config)) *harness {
	t.Helper()
	ca := smtpsink.NewTestCA(t)
	h := &harness{q: &recQueue{}, ca: ca, reg: prometheus.NewRegistry()}
	cfg := Config{
		Hostname: "gw.example.org",
		Listeners: []Listener{
			{Name: "submission", Address: "127.0.0.1:0", TLS: "starttls", Auth: "required"},
			{Name: "relay", Address: "127.0.0.1:0", TLS: "none", Auth: "none"},
			{Name: "smtps", Address: "127.0.0.1:0", TLS: "implicit", Auth: "optional"},
		},
		TLS: smtpsink.ServerTLS(ca.Leaf(t, "gw.example.org", "127.0.0.1")),
		Clients: []Client{
			{Name: "marketing", Username: "marketing", PasswordHash: testHash(t), AllowedSenders: []string{"*@news.example.org"}},
			{Name: "ehr", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, AllowedSenders: []string{"*@clinic.example.org"}},
		},
		Queue:          h.q,
		VerifyPassword: passwd.Verify,
		Registerer:     h.reg,
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	h.srv = srv
	a := srv.Addrs()
	h.subm, h.relay, h.implicit = a[0].String(), a[1].String(), a[2].String()
	return h
}

func (h *harness) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: h.ca.Pool(), ServerName: "gw.example.org"}
}

// submit dials the submission listener, STARTTLS, AUTH as marketing.
func (h *harness) submit(t *testing.T) *smtp.Client {
	t.Helper()
	c, err := smtp.DialStartTLS(h.subm, h.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Auth(sasl.NewPlainClient("", "marketing", testPassword)); err != nil {
		t.Fatal(err)
	}
	return c
}

func message(from, to, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: test\r\nMessage-ID: <t1@news.example.org>\r\n\r\n" + body + "\r\n"
}

func send(c *smtp.Client, from, to, msg string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// raw is a hand-driven plaintext SMTP conversation, for byte-exact tests.
type raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, address string) *raw {
	t.Helper()
	c, err := net.DialTimeout("tcp", address, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := &raw{t: t, c: c, r: bufio.NewReader(c)}
	r.expect("220")
	return r
}

// helloBeforeTimeout dials address and sends EHLO, followed in the same
// write by more (pipelined commands, or ""), and returns the conversation
// once EHLO is answered 250. It is for tests whose server times out in a
// fraction of a second: when that timeout strikes before the EHLO of a
// test descheduled on a busy machine was read (421 4.4.2), the session
// proves nothing and another is dialled, up to ten.
func helloBeforeTimeout(t *testing.T, address, more string) *raw {
	t.Helper()
	for range 10 {
		r := dialRaw(t, address)
		r.send("EHLO client.test\r\n" + more)
		line, err := r.reply()
		if err == nil && strings.HasPrefix(line, "250") {
			return r
		}
		if err != nil || !strings.HasPrefix(line, "421 4.4.2") {
			t.Fatalf("EHLO: want 250, got %q (err %v)", line, err)
		}
		r.c.Close()
	}
	t.Fatal("every session timed out before its EHLO was read")
	return nil
}

func (r *raw) send(s string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// reply reads one (possibly multi-line) reply and returns its last line.
func (r *raw) reply() (string, error) {
	for {
		line, err := r.r.ReadString('\n')
		if err != nil {
			return line, err
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n"), nil
		}
	}
}

func (r *raw) expect(prefix string) string {
	r.t.Helper()
	line, err := r.reply()
	if err != nil || !strings.HasPrefix(line, prefix) {
		r.t.Fatalf("want reply %q, got %q (err %v)", prefix, line, err)
	}
	return line
}

// closed asserts the server closes the connection, with no further reply
// other than the allowed prefixes.
func (r *raw) closed(allowed ...string) {
	r.t.Helper()
	for i := 0; i < 10; i++ {
		line, err := r.reply()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			r.t.Fatal("connection still open at the test's deadline")
		}
		if err != nil {
			return
		}
		ok := false
		for _, a := range allowed {
			ok = ok || strings.HasPrefix(line, a)
		}
		if !ok {
			r.t.Fatalf("unexpected reply %q while waiting for close", line)
		}
	}
	r.t.Fatal("connection not closed")
}
