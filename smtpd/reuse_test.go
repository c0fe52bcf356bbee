package smtpd

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/smtpsink"
)

// A relaying MTA keeps its connection to sealgate open and sends several
// transactions over it (Postfix's connection cache), with RSET between
// them after a refusal, an abandoned transaction or a completed one, and
// with commands pipelined. Each transaction stands on its own: nothing of
// an earlier one (sender, recipients, ORCPT, refusal) carries over.
func TestConnectionReuseWithRSET(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := dialRaw(t, h.relay)
	r.send("EHLO mx.clinic.example.org\r\n")
	r.expectAll("250")
	msg := func(n string) string {
		return "From: a@clinic.example.org\r\nTo: b@example.net\r\nSubject: rota " + n + "\r\nMessage-ID: <" + n + "@clinic.example.org>\r\n\r\nbody " + n + "\r\n.\r\n"
	}
	// 1: a whole transaction, pipelined as Postfix sends it.
	r.send("MAIL FROM:<a@clinic.example.org>\r\nRCPT TO:<b@example.net> ORCPT=rfc822;old@example.net\r\nDATA\r\n")
	r.expect("250")
	r.expect("250")
	r.expect("354")
	r.send(msg("m1"))
	r.expect("250")
	// 2: RSET after a completed transaction, then a sender the client may
	// not use (refused), RSET, and a good transaction.
	r.send("RSET\r\n")
	r.expect("250")
	r.send("MAIL FROM:<x@evil.example>\r\n")
	r.expect("550")
	r.send("RSET\r\n")
	r.expect("250")
	r.send("MAIL FROM:<a@clinic.example.org>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n")
	r.expect("250")
	r.expect("250")
	r.expect("354")
	r.send(msg("m2"))
	r.expect("250")
	// 3: an abandoned transaction (RSET after RCPT with NOTIFY/ORCPT),
	// then one without DSN parameters.
	r.send("MAIL FROM:<a@clinic.example.org> RET=FULL ENVID=abandoned\r\nRCPT TO:<d@example.net> NOTIFY=SUCCESS ORCPT=rfc822;stale@example.net\r\nRSET\r\n")
	r.expect("250")
	r.expect("250")
	r.expect("250")
	r.send("MAIL FROM:<a@clinic.example.org>\r\nRCPT TO:<e@example.net>\r\nDATA\r\n")
	r.expect("250")
	r.expect("250")
	r.expect("354")
	r.send(msg("m3"))
	r.expect("250")
	// 4: a message refused at the end of DATA (header From not allowed),
	// RSET, and one more.
	r.send("MAIL FROM:<a@clinic.example.org>\r\nRCPT TO:<f@example.net>\r\nDATA\r\n")
	r.expect("250")
	r.expect("250")
	r.expect("354")
	r.send(strings.Replace(msg("bad"), "From: a@clinic.example.org", "From: boss@evil.example", 1))
	r.expect("550")
	r.send("RSET\r\nMAIL FROM:<a@clinic.example.org>\r\nRCPT TO:<g@example.net>\r\nDATA\r\n")
	r.expect("250")
	r.expect("250")
	r.expect("250")
	r.expect("354")
	r.send(msg("m4"))
	r.expect("250")
	r.send("QUIT\r\n")
	r.expect("221")

	if n := h.q.count(); n != 4 {
		t.Fatalf("queued %d messages, want 4", n)
	}
	want := []string{"b@example.net", "c@example.net", "e@example.net", "g@example.net"}
	for i, env := range h.q.envs {
		if len(env.Rcpts) != 1 || env.Rcpts[0].Addr != want[i] {
			t.Errorf("message %d: recipients %+v, want %s", i+1, env.Rcpts, want[i])
			continue
		}
		rc := env.Rcpts[0]
		if i > 0 && (rc.ORCPT != "" || len(rc.Notify) != 0 || env.EnvID != "" || env.Ret != "") {
			t.Errorf("message %d carries an earlier transaction's DSN parameters: %+v envid=%q ret=%q", i+1, rc, env.EnvID, env.Ret)
		}
		if env.From != "a@clinic.example.org" || env.Client != "ehr" {
			t.Errorf("message %d: from %q client %q", i+1, env.From, env.Client)
		}
	}
	if h.q.envs[0].Rcpts[0].ORCPT != "rfc822;old@example.net" {
		t.Errorf("message 1 lost its ORCPT: %+v", h.q.envs[0].Rcpts[0])
	}
}

// A relaying MTA that presents a client certificate is identified by its
// fingerprint on a listener without AUTH (auth: none, the MTA-to-MTA port)
// as on the others; without the certificate it is refused. Found with a
// real Postfix (smtp_tls_cert_file) in the interop suite: the certificate
// was only looked at where AUTH was offered.
func TestClientCertificateOnAuthNoneListener(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	cert := ca.Leaf(t, "mx.lab.example.org")
	h := newHarness(t, func(c *Config) {
		c.TLS = smtpsink.ServerTLS(ca.Leaf(t, "gw.example.org", "127.0.0.1"))
		c.Listeners = append(c.Listeners, Listener{Name: "mta", Address: "127.0.0.1:0", TLS: "starttls", Auth: "none"})
		c.Clients = append(c.Clients, Client{Name: "lab", CertFingerprints: []string{fingerprint(cert)},
			AllowedSenders: []string{"*@lab.example.org"}})
	})
	mta := h.srv.Addrs()[3].String()
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "gw.example.org", Certificates: []tls.Certificate{cert}}
	c := dialSubmitNoAuth(t, mta, cfg)
	if err := send(c, "results@lab.example.org", "dr@example.net", message("results@lab.example.org", "dr@example.net", "x")); err != nil {
		t.Fatalf("certificate client on an auth: none listener: %v", err)
	}
	if h.q.count() != 1 || h.q.envs[0].Client != "lab" {
		t.Fatalf("queued %d, want 1 from lab", h.q.count())
	}
	// The same listener without a certificate (and not from a listed
	// network: the harness's network client is 127.0.0.0/8, so use a
	// sender only the certificate client may use).
	c2 := dialSubmitNoAuth(t, mta, &tls.Config{RootCAs: ca.Pool(), ServerName: "gw.example.org"})
	if err := c2.Mail("results@lab.example.org", nil); smtpCode(err) != 550 {
		t.Fatalf("without the certificate: %v, want 550 (the network client may not use lab's senders)", err)
	}
}
