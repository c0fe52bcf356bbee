package smtpd

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/passwd"
)

// TestLifetimeWithoutEHLO: the session lifetime runs from the first byte,
// so a client that never says EHLO and keeps the connection busy with
// NOOP is still closed at session_lifetime.
func TestLifetimeWithoutEHLO(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.SessionLifetime = 300 * time.Millisecond })
	r := dialRaw(t, h.relay)
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 200 && time.Now().Before(deadline); i++ {
		if _, err := r.c.Write([]byte("NOOP\r\n")); err != nil {
			break
		}
		line, err := r.reply()
		if err != nil {
			break
		}
		if strings.HasPrefix(line, "421 4.4.2") {
			r.closed()
			if v := testutil.ToFloat64(h.srv.m.aborted.WithLabelValues("lifetime")); v != 1 {
				t.Fatalf("lifetime aborts %v, want 1", v)
			}
			return
		}
		if !strings.HasPrefix(line, "250") {
			t.Fatalf("NOOP answered %q", line)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("a NOOP-only connection outlived session_lifetime")
}

// TestGlobalConnectionCap: past limits.max_connections every client gets
// 421, whatever its own count.
func TestGlobalConnectionCap(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.MaxConns, c.Limits.MaxConnsPerIP = 2, 10 })
	dialRaw(t, h.relay)
	dialRaw(t, h.subm)
	c, err := net.DialTimeout("tcp", h.relay, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if line, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(line, "421 4.3.2") {
		t.Fatalf("third connection over a cap of two: %q", line)
	}
	if v := testutil.ToFloat64(h.srv.m.rejected.WithLabelValues("connection_cap")); v != 1 {
		t.Fatalf("connection_cap rejections %v", v)
	}
}

// TestIPv6ClientsCountedPerSlash64: addresses within one /64 share one
// client's connection budget; another /64 has its own. An IPv4 client is
// its address.
func TestIPv6ClientsCountedPerSlash64(t *testing.T) {
	cc := newConnCounter(100, 1)
	a := clientKey(netip.MustParseAddr("2001:db8:1:2::1"))
	b := clientKey(netip.MustParseAddr("2001:db8:1:2:ffff::9"))
	other := clientKey(netip.MustParseAddr("2001:db8:1:3::1"))
	if cc.acquire(a) != capOK || cc.acquire(b) != capClient || cc.acquire(other) != capOK {
		t.Fatal("IPv6 addresses not grouped by /64")
	}
	if clientKey(netip.MustParseAddr("192.0.2.1")) == clientKey(netip.MustParseAddr("192.0.2.2")) {
		t.Fatal("two IPv4 addresses share a key")
	}
	if clientKey(netip.MustParseAddr("::ffff:192.0.2.1")) != clientKey(netip.MustParseAddr("192.0.2.1")) {
		t.Fatal("mapped IPv4 counted apart")
	}
	cc.release(a)
	if cc.acquire(b) != capOK {
		t.Fatal("released slot not reusable")
	}
}

// TestUnknownUserCostsTheSame: a login for an unknown user checks the
// password against an argon2id hash with the real users' parameters,
// through the same verification call, once per attempt.
func TestUnknownUserCostsTheSame(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	h := newHarness(t, func(c *Config) {
		c.VerifyPassword = func(hash string, pw []byte) (bool, error) {
			mu.Lock()
			seen = append(seen, hash)
			mu.Unlock()
			return passwd.Verify(hash, pw)
		}
	})
	for _, user := range []string{"marketing", "nobody-here"} {
		c, err := smtp.DialStartTLS(h.subm, h.clientTLS())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(sasl.NewPlainClient("", user, "wrong")); smtpCode(err) != 535 {
			t.Fatalf("AUTH %s: %v", user, err)
		}
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("%d verifications, want one per attempt", len(seen))
	}
	real, dummy := seen[0], seen[1]
	if !strings.HasPrefix(dummy, "$argon2id$") || !passwd.SameCost(real, dummy) || real == dummy {
		t.Fatalf("unknown user checked against %.30s…, real users against %.30s…", dummy, real)
	}
}

// TestSourceRouteRefused: RCPT and MAIL with a source route are refused
// with 553, as the README says; go-smtp would strip the route silently.
func TestSourceRouteRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := dialRaw(t, h.relay)
	r.send("EHLO client.test\r\n")
	r.expect("250")
	r.send("MAIL FROM:<@relay.test:doc@clinic.example.org>\r\n")
	r.expect("553 5.1.3")
	r.send("MAIL FROM:<doc@clinic.example.org>\r\n")
	r.expect("250")
	for _, to := range []string{"<@evil.test:ceo@example.test>", " <@a.test,@b.test:ceo@example.test>"} {
		r.send("RCPT TO:" + to + "\r\n")
		r.expect("553 5.1.3")
	}
	r.send("RCPT TO:<ceo@example.test>\r\n")
	r.expect("250")
}

// TestEverySenderHeaderChecked: every From, Sender, Resent-From and
// Resent-Sender address must be allowed for the client, wherever the
// header is, and a header over the limit is refused.
func TestEverySenderHeaderChecked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ok, bad := "news@news.example.org", "ceo@clinic.example.org"
	base := "To: x@example.net\r\nSubject: test\r\n"
	pad := "X-Pad: " + strings.Repeat("a", 900) + "\r\n"
	cases := []struct {
		name, header string
		want         int
	}{
		{"allowed", "From: " + ok + "\r\n" + base, 250},
		{"sender", "From: " + ok + "\r\nSender: " + bad + "\r\n" + base, 550},
		{"resent-from", "From: " + ok + "\r\n" + base + "Resent-From: " + bad + "\r\n", 550},
		{"resent-sender", "From: " + ok + "\r\nResent-Sender: <" + bad + ">\r\n" + base, 550},
		{"second resent-from", "Resent-From: " + ok + "\r\nResent-From: Boss <" + bad + ">\r\nFrom: " + ok + "\r\n" + base, 550},
		{"from list", "From: " + ok + ", " + bad + "\r\n" + base, 550},
		{"two senders", "From: " + ok + "\r\nSender: " + ok + "\r\nSender: " + ok + "\r\n" + base, 550},
		{"late resent-from", "From: " + ok + "\r\n" + base + strings.Repeat(pad, 250) + "Resent-From: " + bad + "\r\n", 550},
		{"unknown charset name", "From: =?x-unknown?q?Dr_Who?= <" + ok + ">\r\n" + base, 250},
		{"header over the limit", "From: " + ok + "\r\n" + base + strings.Repeat(pad, 300), 552},
	}
	for _, tc := range cases {
		c := h.submit(t)
		err := send(c, ok, "x@example.net", tc.header+"\r\nbody\r\n")
		got := smtpCode(err)
		if err == nil {
			got = 250
		}
		if got != tc.want {
			t.Errorf("%s: %v, want %d", tc.name, err, tc.want)
		}
		c.Close()
	}
}
