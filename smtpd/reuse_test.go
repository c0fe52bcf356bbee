package smtpd

import (
	"strings"
	"testing"
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
