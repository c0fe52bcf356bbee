package portal

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

var volatileRE = regexp.MustCompile(`value="[^"]+"`)

// TestUnknownLinkLooksTheSame: a wrong token gets the same pages as a
// real one, no mail, and the same answer to a code.
func TestUnknownLinkLooksTheSame(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	real, fake := h.browser(), h.browser()
	rp, fp := real.get("/p/"+tok), fake.get("/p/"+tok[:len(tok)-2]+"xx")
	if volatileRE.ReplaceAllString(rp.body, "") != volatileRE.ReplaceAllString(fp.body, "") || rp.status != fp.status {
		t.Fatal("start pages differ between a real and a wrong link")
	}
	rc := real.post("/code/send", url.Values{"csrf": {rp.csrf()}})
	fc := fake.post("/code/send", url.Values{"csrf": {fp.csrf()}})
	if volatileRE.ReplaceAllString(rc.body, "") != volatileRE.ReplaceAllString(fc.body, "") {
		t.Fatal("code pages differ between a real and a wrong link")
	}
	if n := len(h.out.all()); n != 1 {
		t.Fatalf("%d mails sent, want 1 (only for the real link)", n)
	}
	rv := real.post("/code/verify", url.Values{"csrf": {rc.csrf()}, "code": {"00000000"}})
	fv := fake.post("/code/verify", url.Values{"csrf": {fc.csrf()}, "code": {"00000000"}})
	if volatileRE.ReplaceAllString(rv.body, "") != volatileRE.ReplaceAllString(fv.body, "") {
		t.Fatal("wrong-code pages differ between a real and a wrong link")
	}
	if fake.get("/message").url != "/pickup" {
		t.Fatal("a wrong link reached the message")
	}
}

func TestRevokedAndExpiredLinks(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.SessionIdle = 100 * time.Hour })
	revoked := h.put("m1", "pat@home.example", sampleContent())
	expired := h.put("m2", "pat@home.example", sampleContent())
	h.st.Revoke(context.Background(), "m1", "test")
	h.browser().start(revoked)
	if n := len(h.out.all()); n != 0 {
		t.Fatalf("a revoked link got a code (%d mails)", n)
	}
	b := h.browser()
	b.login(expired, "pat@home.example")
	h.clk.Add(72 * time.Hour)
	if p := b.get("/message"); p.status != http.StatusGone || strings.Contains(p.text(), "MRI") {
		t.Fatalf("expired message: %d", p.status)
	}
	if p := b.get("/attachment/0"); p.status != http.StatusGone || strings.Contains(p.text(), "PDF") {
		t.Fatalf("expired attachment: %d", p.status)
	}
	h.clk.Add(-72 * time.Hour) // the store purged nothing yet; go back and revoke while signed in
	h.st.Revoke(context.Background(), "m2", "test")
	if p := b.get("/message"); p.status != http.StatusGone {
		t.Fatalf("revoked while signed in: %d", p.status)
	}
}

// TestReplayedLinkAndCode: a link opened again (by someone else) needs a
// new code, and a used code does not work twice.
func TestReplayedLinkAndCode(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	h.browser().login(tok, "pat@home.example")
	used := h.out.lastCode("pat@home.example")
	other := h.browser()
	p := other.get("/p/" + tok)
	if other.get("/message").url != "/pickup" {
		t.Fatal("a replayed link opened the message without a code")
	}
	v := other.post("/code/verify", url.Values{"csrf": {p.csrf()}, "code": {used}})
	if !strings.Contains(v.body, "did not work") || other.get("/message").url != "/pickup" {
		t.Fatal("a used code worked again")
	}
}

func TestCodeBruteForceLocks(t *testing.T) {
	h := newHarness(t, nil) // MaxCodeAttempts 3
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	p := b.start(tok)
	code := h.out.lastCode("pat@home.example")
	for i := 0; i < 3; i++ {
		p = b.post("/code/verify", url.Values{"csrf": {p.csrf()}, "code": {"1234567" + string(rune('0'+i))}})
	}
	if !strings.Contains(p.body, "Too many tries") {
		t.Fatalf("no lockout after 3 wrong codes:\n%s", p.body)
	}
	p = b.post("/code/verify", url.Values{"csrf": {p.csrf()}, "code": {code}})
	if !strings.Contains(p.body, "Too many tries") || b.get("/message").url != "/pickup" {
		t.Fatal("the right code worked during lockout")
	}
	fresh := h.browser()
	before := len(h.out.all())
	fresh.start(tok)
	if len(h.out.all()) != before {
		t.Fatal("a new code was sent during lockout")
	}
	if v := testutil.ToFloat64(h.srv.metrics.failures.WithLabelValues(failCodeLocked)); v < 1 {
		t.Errorf("code_locked failures %v", v)
	}
	wantAudit(t, h, "m1", "created", "code_sent", "code_failed", "code_failed", "locked", "locked")
}

func TestCSRFRequired(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	b.get("/p/" + tok)
	if p := b.post("/code/send", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("send without token: %d", p.status)
	}
	other := h.browser()
	op := other.get("/p/" + tok)
	if p := b.post("/code/send", url.Values{"csrf": {op.csrf()}}); p.status != http.StatusForbidden {
		t.Fatalf("send with another session's token: %d", p.status)
	}
	if n := len(h.out.all()); n != 0 {
		t.Fatalf("%d mails sent without a valid token", n)
	}
	msg := h.browser()
	mp := msg.login(tok, "pat@home.example")
	if r := msg.reply("", "forged", "x.txt", []byte("x")); r.status != http.StatusForbidden {
		t.Fatalf("reply without token: %d", r.status)
	}
	if r := msg.post("/logout", url.Values{"csrf": {"wrong"}}); r.status != http.StatusForbidden {
		t.Fatalf("logout with a wrong token: %d", r.status)
	}
	for _, m := range h.out.all() {
		if strings.Contains(string(m.Data), "forged") {
			t.Fatal("a forged reply was sent")
		}
	}
	if mp.csrf() == "" || msg.get("/message").status != http.StatusOK {
		t.Fatal("session lost")
	}
}

func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	b.login(tok, "pat@home.example")
	h.clk.Add(14 * time.Minute)
	if p := b.get("/message"); p.status != http.StatusOK {
		t.Fatalf("active session closed early: %d", p.status)
	}
	h.clk.Add(15 * time.Minute)
	p := b.get("/message")
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "session has ended") || strings.Contains(p.body, "MRI") {
		t.Fatalf("idle session: %d\n%s", p.status, p.body)
	}
	if p := b.get("/message"); p.status != http.StatusUnauthorized {
		t.Fatalf("session came back: %d", p.status)
	}
}

// TestOtherRecipientsMessage: a signed-in session cannot reach another
// message — not by its link, not with its code.
func TestOtherRecipientsMessage(t *testing.T) {
	h := newHarness(t, nil)
	tokA := h.put("a", "alice@home.example", sampleContent())
	other := sampleContent()
	other.Subject = "Bob's private results"
	tokB := h.put("b", "bob@home.example", other)
	alice := h.browser()
	alice.login(tokA, "alice@home.example")
	bob := h.browser()
	bob.start(tokB)
	bobCode := h.out.lastCode("bob@home.example")

	p := alice.get("/p/" + tokB) // Alice opens Bob's link: a new, unproven session
	if m := alice.get("/message"); m.url != "/pickup" || strings.Contains(m.body, "Bob's") {
		t.Fatal("Alice's session reached Bob's message through his link")
	}
	alice2 := h.browser()
	p2 := alice2.login(tokA, "alice@home.example")
	v := alice2.post("/code/verify", url.Values{"csrf": {p2.csrf()}, "code": {bobCode}})
	if strings.Contains(v.body, "Bob's") {
		t.Fatal("Bob's code opened something in Alice's session")
	}
	if m := alice2.get("/message"); strings.Contains(m.body, "Bob's") || !strings.Contains(m.body, "Your MRI report") {
		t.Fatal("Alice's session shows the wrong message")
	}
	_ = p
}

// TestClientLimits: one client address cannot spread guesses over many
// messages, nor flood recipients with codes.
func TestClientLimits(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxFailuresPerClient, o.MaxCodesPerClient = 4, 3 })
	tokA := h.put("a", "alice@home.example", sampleContent())
	tokB := h.put("b", "bob@home.example", sampleContent())
	a := h.browser()
	p := a.start(tokA)
	for i := 0; i < 3; i++ {
		p = a.post("/code/verify", url.Values{"csrf": {p.csrf()}, "code": {"99999999"}})
	}
	b := h.browser()
	p = b.start(tokB)
	p = b.post("/code/verify", url.Values{"csrf": {p.csrf()}, "code": {"99999999"}}) // the 4th failure from this client
	code := h.out.lastCode("bob@home.example")
	p = b.post("/code/verify", url.Values{"csrf": {p.csrf()}, "code": {code}})
	if !strings.Contains(p.body, "Too many tries") || b.get("/message").url != "/pickup" {
		t.Fatal("the client went on guessing past its limit")
	}
	if v := testutil.ToFloat64(h.srv.metrics.failures.WithLabelValues(failClient)); v < 1 {
		t.Errorf("client_limited failures %v", v)
	}
	// Code requests: 2 so far (a, b); the 3rd is served, the 4th is not.
	h.clk.Add(time.Minute) // past the per-session resend pause
	before := len(h.out.all())
	b.start(tokB)
	h.browser().start(tokB)
	if got := len(h.out.all()) - before; got != 1 {
		t.Fatalf("%d codes sent past the per-client limit, want 1", got)
	}
	h.clk.Add(15 * time.Minute)
	v, err := h.srv.over(context.Background(), h.srv.rates.failures, "127.0.0.1")
	if err != nil || !v.ok {
		t.Fatal("the client window did not expire")
	}
	if n, err := h.st.SweepLimits(context.Background()); err != nil || n != 0 {
		t.Fatalf("%d ended windows kept (%v)", n, err)
	}
}

func TestClientNetsGroupPrefixes(t *testing.T) {
	net := func(ip string) string { _, n := clientNets(ip); return n }
	if net("2001:db8:1:2:aaaa::1") != net("2001:db8:1:2:bbbb::9") {
		t.Error("one /64 gives two networks")
	}
	if net("2001:db8:1:3::1") == net("2001:db8:1:2::1") {
		t.Error("two /64s share a network")
	}
	if net("192.0.2.1") != net("192.0.2.254") || net("192.0.2.1") == net("192.0.3.1") {
		t.Error("IPv4 not grouped by /24")
	}
	if a, n := clientNets("::ffff:192.0.2.1"); a != "192.0.2.1" || n != "192.0.2.0/24" {
		t.Errorf("mapped IPv4: %s %s", a, n)
	}
}
