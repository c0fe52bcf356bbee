package smtpd

import (
	"bufio"
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Each test here pins one of the go-smtp pitfalls that sealgate closes.

func relayHello(t *testing.T, h *harness) *raw {
	r := dialRaw(t, h.relay)
	r.send("EHLO client.test\r\n")
	r.expect("250")
	r.send("MAIL FROM:<lab@clinic.example.org>\r\n")
	r.expect("250")
	r.send("RCPT TO:<dr@example.net>\r\n")
	r.expect("250")
	return r
}

const hdr = "From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: x\r\n\r\n"

// dataRefused sends data as a message in a fresh relay session: it must be
// refused with 554 5.5.2, the connection closed, and nothing queued.
func dataRefused(t *testing.T, data string) {
	t.Helper()
	h := newHarness(t, nil)
	r := relayHello(t, h)
	r.send("DATA\r\n")
	r.expect("354")
	r.send(data)
	r.expect("554 5.5.2")
	r.closed()
	if n := h.q.count(); n != 0 {
		t.Fatalf("%d message(s) queued from %q", n, data)
	}
}

func TestBareLFInDataRefused(t *testing.T) {
	t.Parallel()
	dataRefused(t, hdr+"line one\nline two\r\n.\r\n")
}

func TestBareCRInDataRefused(t *testing.T) {
	t.Parallel()
	dataRefused(t, hdr+"a\rb\r\n.\r\n")
}

// SMTP smuggling: a "\n.\r\n" end-of-data that another server might honour,
// followed by a second transaction inside the first message.
func TestSmugglingRefused(t *testing.T) {
	t.Parallel()
	dataRefused(t, hdr+"hello\n.\r\nMAIL FROM:<lab@clinic.example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"+
		hdr+"smuggled\r\n.\r\n")
}

func TestBareLFInCommandCloses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := dialRaw(t, h.relay)
	r.send("EHLO client.test\nMAIL FROM:<lab@clinic.example.org>\r\n")
	r.closed("554 5.5.2")
	if got := testutil.ToFloat64(h.srv.m.aborted.WithLabelValues("bare_newline")); got != 1 {
		t.Errorf("aborted{bare_newline} = %v", got)
	}
}

// go-smtp issue #196: a DATA timeout used to answer 554 and go on reading
// the rest of the body as commands.
func TestDataTimeoutClosesConnection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.DataTimeout = 300 * time.Millisecond })
	r := relayHello(t, h)
	r.send("DATA\r\n")
	r.expect("354")
	r.send(hdr + "partial body\r\n")
	r.expect("421 4.4.2") // the timeout fired; what follows must not be read as commands
	r.c.Write([]byte(".\r\nMAIL FROM:<lab@clinic.example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n" + hdr + "smuggled\r\n.\r\n"))
	r.closed()
	if h.q.count() != 0 {
		t.Fatalf("%d messages queued after a DATA timeout", h.q.count())
	}
}

// A command cut off by a timeout must not be acted on. With one message
// per minute allowed, a MAIL that was acted on would use up the client's
// allowance; the next session proves it was not.
func TestTruncatedCommandAtTimeoutIgnored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.Limits.CommandTimeout = 300 * time.Millisecond
		c.Limits.MessagesPerMinute = 1
	})
	r := helloBeforeTimeout(t, h.relay, "")
	// The client is still typing (" SIZE=…", or ".evil.test" after a bare
	// address) when the timeout strikes.
	r.send("MAIL FROM:<lab@clinic.example.org>")
	r.closed("421 4.4.2")
	r2 := helloBeforeTimeout(t, h.relay, "MAIL FROM:<lab@clinic.example.org>\r\n")
	r2.expect("250")
}

// A failed STARTTLS handshake must close the connection, not answer in
// the clear and run the commands buffered behind it.
func TestFailedStartTLSCloses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := dialRaw(t, h.subm)
	r.send("EHLO client.test\r\n")
	r.expect("250")
	r.send("STARTTLS\r\n")
	r.expect("220")
	// The client refuses the server's certificate (wrong name), so the
	// server's handshake fails on the client's alert.
	tc := tls.Client(r.c, &tls.Config{RootCAs: h.ca.Pool(), ServerName: "not-the-gateway.example"})
	if err := tc.Handshake(); err == nil {
		t.Fatal("handshake unexpectedly succeeded")
	}
	r.c.Write([]byte("MAIL FROM:<news@news.example.org>\r\n"))
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, _ := io.ReadAll(r.c)
	if strings.Contains(string(rest), "550") || strings.Contains(string(rest), "250") {
		t.Fatalf("plaintext reply after failed handshake: %q", rest)
	}
	if got := testutil.ToFloat64(h.srv.m.aborted.WithLabelValues("tls_handshake")); got != 1 {
		t.Errorf("aborted{tls_handshake} = %v, want 1", got)
	}
}

func TestMailBeforeStartTLSRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := dialRaw(t, h.subm)
	r.send("EHLO client.test\r\n")
	r.expect("250")
	r.send("MAIL FROM:<news@news.example.org>\r\n")
	r.expect("530 5.7.0")
}

func TestPanicInPolicyRecovered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Policy = panicPolicy{} })
	r := relayHello(t, h)
	r.send("DATA\r\n")
	r.expect("354")
	r.send(hdr + "x\r\n.\r\n")
	r.expect("421")
	r.closed()
	if got := testutil.ToFloat64(h.srv.m.panics); got != 1 {
		t.Errorf("panics metric = %v, want 1", got)
	}
}

func TestBDATAcceptedAndBareLFRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := relayHello(t, h)
	body := hdr + "chunked\r\n"
	r.send("BDAT " + itoa(len(body)) + " LAST\r\n" + body)
	reply := r.expect("250")
	if h.q.count() != 1 {
		t.Fatalf("BDAT message not queued")
	}
	if want := "250 2.0.0 OK: queued as " + h.q.envs[0].ID; strings.TrimSpace(reply) != want {
		t.Errorf("BDAT reply %q, want %q", reply, want)
	}
	r.send("MAIL FROM:<lab@clinic.example.org>\r\nRCPT TO:<dr@example.net>\r\n")
	r.expect("250")
	r.expect("250")
	bad := hdr + "bare\nlf\r\n"
	r.send("BDAT " + itoa(len(bad)) + " LAST\r\n" + bad)
	r.closed("554 5.5.2")
	if h.q.count() != 1 {
		t.Fatal("BDAT message with bare LF was queued")
	}
}

func TestClientCertificateIdentifies(t *testing.T) {
	t.Parallel()
	var fp string
	ca := (*harness)(nil)
	_ = ca
	h := newHarness(t, nil)
	cert := h.ca.Leaf(t, "ehr-client.example.org")
	fp = fingerprint(cert)
	h2 := newHarness(t, func(c *Config) {
		c.Clients = append(c.Clients[:1], Client{Name: "lab", CertFingerprints: []string{fp}, AllowedSenders: []string{"*@lab.example.org"}})
		c.TLS = h.srv.cfg.TLS
	})
	cfg := h.clientTLS()
	cfg.Certificates = []tls.Certificate{cert}
	c := dialSubmitNoAuth(t, h2.subm, cfg)
	if err := send(c, "results@lab.example.org", "dr@example.net", message("results@lab.example.org", "dr@example.net", "x")); err != nil {
		t.Fatalf("certificate client: %v", err)
	}
	if h2.q.count() != 1 || h2.q.envs[0].Client != "lab" {
		t.Fatal("message from certificate client not queued as lab")
	}
}

// Over TLS the connection guard sees only ciphertext: the DATA check must
// catch bare line endings by itself.
func TestBareLFInDataOverTLSRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, body := range []string{"one\ntwo\r\n", "one\rtwo\r\n", "trailing CR\r"} {
		c, err := tls.Dial("tcp", h.implicit, h.clientTLS())
		if err != nil {
			t.Fatal(err)
		}
		r := &raw{t: t, c: c, r: bufio.NewReader(c)}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r.expect("220")
		r.send("EHLO client.test\r\nMAIL FROM:<lab@clinic.example.org>\r\nRCPT TO:<dr@example.net>\r\n")
		r.expect("250")
		r.expect("250")
		r.expect("250")
		r.send("BDAT " + itoa(len(hdr+body)) + " LAST\r\n" + hdr + body)
		r.expect("554 5.5.2")
		r.closed()
		c.Close()
	}
	if h.q.count() != 0 {
		t.Fatalf("%d messages with bare line endings queued over TLS", h.q.count())
	}
}

// TestDataReplyNamesQueueID: the 250 to DATA names the queue ID the
// message was stored under, so a client's log matches sealgate's.
func TestDataReplyNamesQueueID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := relayHello(t, h)
	r.send("DATA\r\n")
	r.expect("354")
	r.send(hdr + "body\r\n.\r\n")
	reply := strings.TrimSpace(r.expect("250"))
	if h.q.count() != 1 {
		t.Fatal("message not queued")
	}
	if id := h.q.envs[0].ID; id == "" || reply != "250 2.0.0 OK: queued as "+id {
		t.Errorf("DATA reply %q, queue ID %q", reply, id)
	}
}
