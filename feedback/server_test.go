package feedback

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sealgate/sealgate/internal/testenv"
)

// handler accepts "good@b.test" (ref "r1") and the feedback address, and
// records reports; fail makes Report fail.
type handler struct {
	mu      sync.Mutex
	reports []*Report
	targets [][]Target
	fail    bool
}

func (h *handler) Recipient(_ context.Context, a string) (Target, bool, error) {
	switch strings.ToLower(a) {
	case "good@b.test":
		return Target{Ref: "r1"}, true, nil
	case "fbl@b.test":
		return Target{Feedback: true}, true, nil
	case "broken@b.test":
		return Target{}, false, errors.New("store down")
	}
	return Target{}, false, nil
}

func (h *handler) Report(_ context.Context, ts []Target, rep *Report) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail {
		return errors.New("store down")
	}
	h.reports, h.targets = append(h.reports, rep), append(h.targets, ts)
	return nil
}

func startServer(t *testing.T, h *handler) (*Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := Listen(Config{Addr: "127.0.0.1:0", Hostname: "gw.test", MaxBytes: 64 << 10, Handler: h,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, reg
}

// send runs one transaction; it returns the first error and the command
// that got it.
func send(addr string, rcpts []string, body string) (string, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return "dial", err
	}
	defer c.Close()
	if err := c.Mail(""); err != nil {
		return "MAIL", err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return "RCPT", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "DATA", err
	}
	w.Write([]byte(body))
	if err := w.Close(); err != nil {
		return "DATA", err
	}
	return "", c.Quit()
}

func code(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// Each kind of hostile or broken input gets its own SMTP error and
// nothing reaches the handler; a good report does, once per recipient
// address however often it is named.
func TestServerReplies(t *testing.T) {
	h := &handler{}
	s, reg := startServer(t, h)
	addr := s.Addr().String()
	dsn, err := os.ReadFile("testdata/postfix-unknown-user.eml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		rcpts []string
		body  string
		cmd   string
		code  int
	}{
		{"unknown address", []string{"victim@example.net"}, "x", "RCPT", 550},
		{"store down at RCPT", []string{"broken@b.test"}, "x", "RCPT", 451},
		{"too big", []string{"good@b.test"}, strings.Repeat("xxxxxxxxxx\r\n", 7000), "DATA", 552},
		{"line too long", []string{"good@b.test"}, strings.Repeat("x", 3000), "DATA", 421},
		{"malformed report", []string{"good@b.test"}, "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n", "DATA", 554},
	}
	for _, c := range cases {
		cmd, err := send(addr, c.rcpts, c.body)
		if cmd != c.cmd || code(err) != c.code {
			t.Errorf("%s: %s %v, want %s %d", c.name, cmd, err, c.cmd, c.code)
		}
	}
	if len(h.reports) != 0 {
		t.Fatalf("the handler saw %d reports of refused input", len(h.reports))
	}
	if _, err := send(addr, []string{"good@b.test", "GOOD@b.test"}, string(dsn)); err != nil {
		t.Fatalf("good DSN: %v", err)
	}
	if len(h.reports) != 1 || len(h.targets[0]) != 1 || h.targets[0][0].Ref != "r1" || h.reports[0].Kind != KindDSN {
		t.Fatalf("reports %+v targets %+v", h.reports, h.targets)
	}
	h.fail = true
	if cmd, err := send(addr, []string{"fbl@b.test"}, string(dsn)); cmd != "DATA" || code(err) != 451 {
		t.Errorf("report not recorded: %s %v, want DATA 451", cmd, err)
	}
	for result, want := range map[string]float64{"dsn": 1, "malformed": 2, "too_big": 1, "error": 1} {
		if got := testutil.ToFloat64(s.msgs.WithLabelValues(result)); got != want {
			t.Errorf("sealgate_feedback_messages_total{result=%q} = %v, want %v", result, got, want)
		}
	}
	if got := testutil.ToFloat64(s.reports.WithLabelValues("dsn", "hard")); got != 1 {
		t.Errorf("sealgate_feedback_reports_total{kind=dsn,class=hard} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.refused); got != 1 {
		t.Errorf("refused recipients %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, "sealgate_feedback_messages_total"); err != nil || n != 6 {
		t.Errorf("registered series %d, %v", n, err)
	}
}

// A report bigger than what a session keeps in memory (its returned
// message is dropped) is still read and recorded.
func TestServerBigReport(t *testing.T) {
	h := &handler{}
	reg := prometheus.NewRegistry()
	s, err := Listen(Config{Addr: "127.0.0.1:0", Hostname: "gw.test", MaxBytes: 4 << 20, Handler: h,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	dsn, err := os.ReadFile("testdata/postfix-unknown-user.eml")
	if err != nil {
		t.Fatal(err)
	}
	end := strings.LastIndex(string(dsn), "--B1.")
	big := string(dsn[:end]) + strings.Repeat("X-Padding: returned message text\r\n", 60000) + "\r\n" + string(dsn[end:])
	if len(big) <= keepBytes {
		t.Fatalf("report of %d bytes is not bigger than %d", len(big), keepBytes)
	}
	if _, err := send(s.Addr().String(), []string{"good@b.test"}, big); err != nil {
		t.Fatalf("big DSN: %v", err)
	}
	if len(h.reports) != 1 {
		t.Fatalf("%d reports", len(h.reports))
	}
	if c, st := h.reports[0].Outcome(); c != "hard" || st.Status != "5.1.1" {
		t.Errorf("class %q status %q", c, st.Status)
	}
}

// greeting connects from local (nil: any) and returns the server's first
// line.
func greeting(t *testing.T, addr string, local net.Addr) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && line == "" {
		t.Fatalf("no greeting: %v", err)
	}
	return c, line
}

// TestServerConnectionsPerIP: one client address gets at most 10
// connections at once; the 11th is refused with 421 while another
// address is still served, and a slot freed is usable again.
func TestServerConnectionsPerIP(t *testing.T) {
	s, _ := startServer(t, &handler{})
	addr := s.Addr().String()
	var held []net.Conn
	for i := range 10 {
		c, line := greeting(t, addr, nil)
		if !strings.HasPrefix(line, "220 ") {
			t.Fatalf("connection %d: %q, want 220", i+1, line)
		}
		held = append(held, c)
	}
	if _, line := greeting(t, addr, nil); !strings.HasPrefix(line, "421 4.7.0 Too many connections from your address") {
		t.Fatalf("11th connection from one address: %q, want 421", line)
	}
	other := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	if _, line := greeting(t, addr, other); !strings.HasPrefix(line, "220 ") {
		t.Fatalf("a connection from 127.0.0.2 while 127.0.0.1 is at its limit: %q, want 220", line)
	}
	held[0].Close()
	testenv.WaitForState(t, 30*time.Second, "a slot freed by closing one of 10 connections", func() (bool, string) {
		c, line := greeting(t, addr, nil)
		if !strings.HasPrefix(line, "220 ") {
			c.Close()
			return false, line
		}
		return true, line
	})
}
