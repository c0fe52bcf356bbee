package interop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// clinicCount is how many messages the clinic's users send through the
// clinic's Postfix.
const clinicCount = 10

// outMsg is one message a client hands in.
type outMsg struct {
	from, to, id, envid string
	utf8                bool
	data                []byte // CRLF
}

// clinicMessages are the clinic users' messages: to Postfix's dest.test
// (one recipient in three with a UTF-8 local part, so SMTPUTF8 with DSN)
// and Exim's exim.test, each asking for success and failure notices.
func clinicMessages() []outMsg {
	var out []outMsg
	for i := range clinicCount {
		m := outMsg{from: "alice@clinic.test", id: fmt.Sprintf("clinic-%d@clinic.test", i), envid: fmt.Sprintf("clinic-%d", i)}
		switch i % 3 {
		case 0:
			m.to = "bob@dest.test"
		case 1:
			m.to, m.utf8 = "renée@dest.test", true
		case 2:
			m.to = "dora@exim.test"
		}
		m.data = []byte(fmt.Sprintf("From: Alice <alice@clinic.test>\r\nTo: <%s>\r\nSubject: Staff rota, week %d\r\n"+
			"Message-ID: <%s>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"+
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"+
			"The staff rota for week %d is on the noticeboard.\r\nThe café opens at 8.\r\n.leading dot\r\n", m.to, i, m.id, i))
		out = append(out, m)
	}
	return out
}

// bounceTrigger is a message a workstation hands to the clinic's Postfix
// with a sender the clinic may not use at sealgate (carol@dest.test):
// sealgate refuses it at MAIL (550 5.7.1) on the cached connection, Postfix
// sends RSET and goes on using the connection, and bounces the message with
// MAIL FROM:<> through sealgate to carol@dest.test.
// relayedMsg goes to nodsn.test, whose MX does not announce DSN.
var relayedMsg = outMsg{from: "alice@clinic.test", to: "eve@nodsn.test", id: "relayed-1@clinic.test", envid: "relayed-1",
	data: []byte("From: Alice <alice@clinic.test>\r\nTo: <eve@nodsn.test>\r\nSubject: Staff rota, week 11\r\n" +
		"Message-ID: <relayed-1@clinic.test>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\n" +
		"The staff rota for week 11 is on the noticeboard.\r\nThe café opens at 8.\r\n")}

// failedMsg goes to a recipient Exim refuses (550 5.1.1) after sealgate
// accepted it: sealgate's own failure notice goes back to the clinic.
var failedMsg = outMsg{from: "alice@clinic.test", to: "nobody@exim.test", id: "failed-1@clinic.test", envid: "failed-1",
	data: []byte("From: Alice <alice@clinic.test>\r\nTo: <nobody@exim.test>\r\nSubject: Staff rota, week 12\r\n" +
		"Message-ID: <failed-1@clinic.test>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\n" +
		"The staff rota for week 12 is on the noticeboard.\r\nThe café opens at 8.\r\n")}

var bounceTrigger = outMsg{from: "carol@dest.test", to: "bob@dest.test", id: "bounce-me@dest.test",
	data: []byte("From: carol@dest.test\r\nTo: bob@dest.test\r\nSubject: Lunch on Friday\r\n" +
		"Message-ID: <bounce-me@dest.test>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\nNoon at the fountain?\r\n")}

// inject hands msgs to the clinic's Postfix in one SMTP session, as the
// clinic's workstations would.
func inject(t *testing.T, addr string, msgs []outMsg) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("ws1.clinic.test"); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		mo := &smtp.MailOptions{UTF8: m.utf8}
		ro := (*smtp.RcptOptions)(nil)
		if m.envid != "" {
			mo.Return, mo.EnvelopeID = smtp.DSNReturnHeaders, m.envid
			ro = &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure}}
		}
		if err := c.Mail(m.from, mo); err != nil {
			t.Fatalf("%s: MAIL: %v", m.id, err)
		}
		if err := c.Rcpt(m.to, ro); err != nil {
			t.Fatalf("%s: RCPT: %v", m.id, err)
		}
		wr, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		wr.Write(m.data)
		if err := wr.Close(); err != nil {
			t.Fatalf("%s: DATA: %v", m.id, err)
		}
	}
	_ = c.Quit()
}

// byID indexes messages by Message-ID (without angle brackets).
func byID(ms []mail) map[string][]mail {
	out := map[string][]mail{}
	for _, m := range ms {
		id := strings.Trim(m.header("Message-ID"), "<>")
		out[id] = append(out[id], m)
	}
	return out
}

// sameContent reports whether got carries sent unchanged: the same body
// byte for byte and the sent header fields, in order, below the trace
// fields the hops added.
func sameContent(sent []byte, got mail) bool {
	lf := bytes.ReplaceAll(sent, []byte("\r\n"), []byte("\n"))
	sh, sb, _ := bytes.Cut(lf, []byte("\n\n"))
	gh, gb, _ := bytes.Cut(got.data, []byte("\n\n"))
	return bytes.Equal(sb, gb) && bytes.HasSuffix(gh, sh)
}

func (w *world) clinicPath(t *testing.T, r *results) {
	msgs := clinicMessages()
	// The refused message goes in the middle, so later deliveries reuse the
	// connection after the refusal and RSET.
	inject(t, w.clinicIP+":25", slices.Concat(msgs[:clinicCount/2], []outMsg{bounceTrigger}, msgs[clinicCount/2:], []outMsg{relayedMsg, failedMsg}))
	r.clinicSent = len(msgs)
	wantDest, wantExim := 0, 0
	for _, m := range msgs {
		if strings.HasSuffix(m.to, "@exim.test") {
			wantExim++
		} else {
			wantDest++
		}
	}
	arrived := waitFor(60*time.Second, func() bool {
		return len(w.mx.inbox(t)) >= wantDest+2 && len(w.ex.inbox(t)) >= wantExim &&
			len(w.clinic.inbox(t)) >= len(msgs)+2
	})
	if !arrived {
		t.Errorf("after 60 s: dest.test %d/%d, exim.test %d/%d, success notices %d/%d\nclinic log:\n%s\nsealgate log:\n%s",
			len(w.mx.inbox(t)), wantDest+2, len(w.ex.inbox(t)), wantExim, len(w.clinic.inbox(t)), len(msgs)+2,
			tail(w.clinic.log(), 40), tail(w.gw.log(), 40))
	}
	dest, ex := byID(w.mx.inbox(t)), byID(w.ex.inbox(t))
	eximTLS := w.ex.received()
	for _, m := range msgs {
		got := dest[m.id]
		if strings.HasSuffix(m.to, "@exim.test") {
			got = ex[m.id]
		}
		if len(got) == 0 {
			t.Errorf("%s to %s: not delivered", m.id, m.to)
			continue
		}
		r.clinicArrived++
		if !sameContent(m.data, got[0]) {
			t.Errorf("%s: content changed on the way:\n%s", m.id, got[0].data)
			continue
		}
		r.clinicSame++
		checkReceived(t, m, got[0])
		if w.provenTLS(got[0], m.id, eximTLS) {
			r.clinicTLS++
		} else {
			t.Errorf("%s: no TLS in the receiver's log or trace header", m.id)
		}
	}
	if got := dest[relayedMsg.id]; len(got) != 1 || !sameContent(relayedMsg.data, got[0]) {
		t.Errorf("the message to a next hop without DSN arrived %d times or changed", len(got))
	}
	w.checkNotices(t, r, msgs)
	w.checkBounce(t, r)
	w.checkConnectionReuse(t, r)
	for _, step := range []struct {
		name string
		fn   func(*testing.T, *results)
	}{{"soft_bounce", w.checkSoftBounce}, {"wrong password", w.checkWrongPassword}, {"client certificate", w.checkCertIdentity}} {
		start := time.Now()
		step.fn(t, r)
		t.Logf("%s: %v", step.name, time.Since(start).Round(time.Millisecond))
	}
}

// checkCertIdentity switches the clinic's Postfix from SASL to its client
// certificate, on sealgate's relay listener (auth: none, clients known by
// certificate fingerprint): the message the wrong password held back is
// delivered, under the certificate's client name.
func (w *world) checkCertIdentity(t *testing.T, r *results) {
	conf := filepath.Join(w.clinic.dir, "conf")
	relay := "[127.0.0.1]:" + w.gw.relay[strings.LastIndexByte(w.gw.relay, ':')+1:]
	args := []string{"-c", conf, "-e", "relayhost = " + relay, "smtp_sasl_auth_enable = no",
		"smtp_tls_cert_file = " + filepath.Join(w.clinic.dir, "client-cert.pem"),
		"smtp_tls_key_file = " + filepath.Join(w.clinic.dir, "client-key.pem"),
		"smtp_connection_cache_destinations = " + relay}
	if out, err := exec.Command(w.tl.postconf, args...).CombinedOutput(); err != nil {
		t.Fatalf("postconf: %v\n%s", err, out)
	}
	if out, err := w.clinic.cmd("reload").CombinedOutput(); err != nil {
		t.Fatalf("postfix reload: %v\n%s", err, out)
	}
	// The third reload of the run (soft_bounce, wrong password, this one).
	if !waitFor(20*time.Second, func() bool { return strings.Count(w.clinic.log(), "reload -- version") >= 3 }) {
		t.Fatal("postfix did not reload")
	}
	audit := filepath.Join(w.gw.dir, "audit.log")
	lastFlush := time.Time{}
	ok := waitFor(30*time.Second, func() bool {
		// The held message may sit out a back-off taken under the old
		// settings; a flush asks Postfix to try its deferred mail now.
		if time.Since(lastFlush) > 5*time.Second {
			_ = w.clinic.cmd("flush").Run()
			lastFlush = time.Now()
		}
		b, _ := os.ReadFile(audit)
		return len(byID(w.mx.inbox(t))["wrongpw@clinic.test"]) == 1 &&
			strings.Contains(string(b), `"client":"clinic-mta-cert"`)
	})
	if !ok {
		t.Errorf("with its client certificate, the clinic's Postfix did not get the held message through\nclinic:\n%s\nsealgate:\n%s",
			tail(w.clinic.log(), 15), tail(w.gw.log(), 10))
		return
	}
	r.certRelayed++
}

// checkWrongPassword: a wrong SASL password on the clinic's side leaves a
// line in sealgate's log (without the user name or password), and the
// clinic's Postfix keeps the message (soft_bounce is still on).
func (w *world) checkWrongPassword(t *testing.T, r *results) {
	before := strings.Count(w.gw.log(), `msg="authentication failed"`)
	relay := "[127.0.0.1]:" + w.gw.smtp[strings.LastIndexByte(w.gw.smtp, ':')+1:]
	write(t, filepath.Join(w.clinic.dir, "sasl_passwd"), relay+" clinic:not-the-password\n")
	if out, err := w.clinic.cmd("reload").CombinedOutput(); err != nil {
		t.Fatalf("postfix reload: %v\n%s", err, out)
	}
	if !waitFor(20*time.Second, func() bool { return strings.Count(w.clinic.log(), "reload -- version") >= 2 }) {
		t.Fatal("postfix did not reload")
	}
	inject(t, w.clinicIP+":25", []outMsg{{from: "alice@clinic.test", to: "bob@dest.test", id: "wrongpw@clinic.test",
		data: []byte("From: alice@clinic.test\r\nTo: bob@dest.test\r\nSubject: Keys\r\nMessage-ID: <wrongpw@clinic.test>\r\n" +
			"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\nThe spare keys are at the desk.\r\n")}})
	logged := waitFor(30*time.Second, func() bool {
		return strings.Count(w.gw.log(), `msg="authentication failed"`) > before &&
			strings.Contains(w.clinic.log(), "SASL authentication failed")
	})
	if !logged {
		t.Errorf("wrong password: not in sealgate's log, or Postfix saw no failure\nsealgate:\n%s\nclinic:\n%s",
			tail(w.gw.log(), 10), tail(w.clinic.log(), 10))
		return
	}
	r.authFailLogged++
	if strings.Contains(w.gw.log(), "not-the-password") {
		t.Errorf("sealgate's log holds the password")
	}
}

// checkSoftBounce tries the cut-over setting: with soft_bounce = yes the
// clinic's Postfix keeps a message sealgate refuses (550 5.7.1) in its
// queue as deferred (logged status=SOFTBOUNCE) instead of bouncing it to
// the user.
func (w *world) checkSoftBounce(t *testing.T, r *results) {
	conf := filepath.Join(w.clinic.dir, "conf")
	if out, err := exec.Command(w.tl.postconf, "-c", conf, "-e", "soft_bounce = yes").CombinedOutput(); err != nil {
		t.Fatalf("postconf: %v\n%s", err, out)
	}
	if out, err := w.clinic.cmd("reload").CombinedOutput(); err != nil {
		t.Fatalf("postfix reload: %v\n%s", err, out)
	}
	if !waitFor(20*time.Second, func() bool { return strings.Contains(w.clinic.log(), "reload -- version") }) {
		t.Fatal("postfix did not reload")
	}
	inject(t, w.clinicIP+":25", []outMsg{{from: "dave@dest.test", to: "bob@dest.test", id: "soft-1@dest.test",
		data: []byte("From: dave@dest.test\r\nTo: bob@dest.test\r\nSubject: Parking\r\nMessage-ID: <soft-1@dest.test>\r\n" +
			"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\nThe car park is full.\r\n")}})
	deferred := regexp.MustCompile(`to=<bob@dest\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=(deferred|SOFTBOUNCE) \(.*550 5\.7\.1`)
	if !waitFor(30*time.Second, func() bool { return deferred.MatchString(w.clinic.log()) }) {
		t.Errorf("with soft_bounce, the refused message was not deferred\nclinic log:\n%s", tail(w.clinic.log(), 20))
		return
	}
	r.softDeferred++
	_, after, _ := strings.Cut(w.clinic.log(), "reload -- version")
	if strings.Contains(after, "status=bounced") {
		t.Errorf("a message bounced with soft_bounce = yes")
	}
}

var postfixTLSReceived = regexp.MustCompile(`\(using TLSv1\.[23] with cipher `)

// provenTLS finds the TLS of the hop into the receiver: Postfix writes it
// into its Received header (smtpd_tls_received_header) and Exim into the
// arrival line of its main log (X=TLS…).
func (w *world) provenTLS(m mail, id string, eximArrivals []string) bool {
	if strings.Contains(m.path, "/exim/") {
		for _, l := range eximArrivals {
			if strings.Contains(l, "id="+id) && strings.Contains(l, " X=TLS1.") {
				return true
			}
		}
		return false
	}
	return postfixTLSReceived.MatchString(m.header("Received"))
}

// checkNotices: every message asked for NOTIFY=SUCCESS. The receiving MTA
// announces DSN, so it sends the only success notice ("delivered"); the
// clinic's Postfix and sealgate pass NOTIFY on and send none. The one
// message to nodsn.test, whose MX hides DSN, gets sealgate's "relayed"
// notice instead, and only that; the one to a recipient Exim refuses gets
// sealgate's failure notice.
func (w *world) checkNotices(t *testing.T, r *results, msgs []outMsg) {
	per := map[string]int{}
	for _, n := range w.clinic.inbox(t) {
		body := string(n.data)
		if !strings.Contains(body, "report-type=delivery-status") {
			continue
		}
		r.notices++
		fromRelay := strings.Contains(body, "Reporting-MTA: dns; gw.clinic.test") || strings.Contains(body, "Reporting-MTA: dns; mx.clinic.test")
		if strings.Contains(body, "Original-Envelope-Id: "+relayedMsg.envid+"\n") {
			per[relayedMsg.envid]++
			if !strings.Contains(body, "Reporting-MTA: dns; gw.clinic.test") || !strings.Contains(body, "Action: relayed") {
				t.Errorf("the notice for a next hop without DSN is not sealgate's 'relayed':\n%s", body)
			} else {
				r.relayedNotices++
			}
			continue
		}
		if strings.Contains(body, "Original-Envelope-Id: "+failedMsg.envid+"\n") {
			per[failedMsg.envid]++
			if !strings.Contains(body, "Reporting-MTA: dns; gw.clinic.test") || !strings.Contains(body, "Action: failed") ||
				!strings.Contains(body, "Status: 5.1.1") || !strings.Contains(body, "Final-Recipient: rfc822; nobody@exim.test") {
				t.Errorf("sealgate's failure notice for a refused recipient:\n%s", body)
			} else {
				r.failureNotices++
			}
			continue
		}
		if fromRelay {
			r.noticesRelay++
			t.Errorf("a success notice from a relay, not from the receiving MTA:\n%s", body)
		}
		for _, m := range msgs {
			if regexp.MustCompile(`(?i)Original-Envelope-Id: ` + m.envid + `\n`).MatchString(body) {
				per[m.envid]++
				r.deliveredNotices++
				w.checkNotice(t, m, body)
			}
		}
	}
	for _, m := range append(msgs, relayedMsg, failedMsg) {
		if per[m.envid] != 1 {
			t.Errorf("%s: %d success notices, want exactly 1", m.envid, per[m.envid])
		}
	}
}

// checkNotice checks the receiving MTA's notice for m.
func (w *world) checkNotice(t *testing.T, m outMsg, body string) {
	if !regexp.MustCompile(`(?i)Action: delivered`).MatchString(body) {
		t.Errorf("%s: notice is not 'delivered':\n%s", m.envid, body)
	}
	// ORCPT went from the clinic's Postfix through sealgate to the
	// receiving MTA, UTF-8 included.
	orcpt := regexp.MustCompile(`(?i)\nOriginal-Recipient: (rfc822|utf-8); ?` + regexp.QuoteMeta(m.to) + `\n`)
	if !orcpt.MatchString(body) {
		t.Errorf("%s: the notice lacks Original-Recipient %s:\n%s", m.envid, m.to, body)
	}
}

// sealgateReceived is sealgate's trace field as RFC 5321 §4.4 and RFC 6531
// §3.7.3 have it: the TLS comment before "by", the protocol ESMTPSA, or
// UTF8SMTPSA for an SMTPUTF8 transaction, and the date after the ";".
var sealgateReceived = regexp.MustCompile(`^from \S+ \(\S+\) \(using TLS1\.[23]\) by gw\.clinic\.test \(sealgate\) with (ESMTPSA|UTF8SMTPSA) id \w+; \w{3}, \d{2} \w{3} \d{4} [\d:]{8} [+-]\d{4}$`)

// checkReceived checks sealgate's Received field in a delivered message.
func checkReceived(t *testing.T, m outMsg, got mail) {
	for _, v := range got.headers("Received") {
		if !strings.Contains(v, "by gw.clinic.test") {
			continue
		}
		sm := sealgateReceived.FindStringSubmatch(v)
		want := map[bool]string{true: "UTF8SMTPSA", false: "ESMTPSA"}[m.utf8]
		if sm == nil || sm[1] != want {
			t.Errorf("%s: sealgate's Received field %q, want the RFC 5321 form with %s", m.id, v, want)
		}
		return
	}
	t.Errorf("%s: no Received field from sealgate", m.id)
}

// checkBounce: the clinic's Postfix bounce (null sender) went through
// sealgate to the original sender at dest.test.
func (w *world) checkBounce(t *testing.T, r *results) {
	for _, m := range w.mx.inbox(t) {
		if m.header("Return-Path") != "<>" || m.header("X-Original-To") != "carol@dest.test" {
			continue
		}
		r.bounces++
		// The bounce returns the refused message; when sealgate's policy
		// finds it may carry PHI it goes as a pickup-portal notice (still
		// with the null sender), otherwise unchanged.
		if !strings.Contains(string(m.data), "bounce-me@dest.test") && m.header("Subject") != "You have a secure message" {
			t.Errorf("null-sender message to carol is neither the bounce nor a portal notice:\n%s", m.data)
		}
	}

	if r.bounces != 1 {
		t.Errorf("the clinic Postfix's own bounce arrived %d times, want 1\nsealgate log:\n%s", r.bounces, tail(w.gw.log(), 30))
	}
}

// checkConnectionReuse: with connection caching and one connection at a
// time, the clinic's Postfix sends several messages over one connection
// to sealgate; its log says conn_use=N (N > 1) for each reused delivery.
// The message sealgate refuses (550 5.7.1 at MAIL) is followed by RSET and
// more messages on the same connection: conn_use goes on counting.
func (w *world) checkConnectionReuse(t *testing.T, r *results) {
	re := regexp.MustCompile(`relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, conn_use=(\d+), .*status=(sent|bounced)`)
	refusedAt, afterRefusal := 0, 0
	for _, l := range strings.Split(w.clinic.log(), "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		switch {
		case m[2] == "bounced" && strings.Contains(l, "550 5.7.1"):
			refusedAt = n
		case m[2] == "sent":
			r.reused++
			if refusedAt > 0 && n > refusedAt {
				afterRefusal++
			}
		}
	}
	if r.reused < 3 || refusedAt == 0 || afterRefusal == 0 {
		t.Errorf("deliveries over a reused connection to sealgate: %d (want at least 3); refusal at conn_use=%d, "+
			"reused after it: %d\nclinic log:\n%s", r.reused, refusedAt, afterRefusal, grep(w.clinic.log(), "smtp["))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
