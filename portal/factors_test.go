package portal

import (
	"encoding/base32"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/portal/totp"
)

func TestPasswordSetOnFirstVisitThenRequired(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.RequirePassword = true })
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	p := b.login(tok, "pat@home.example")
	if p.url != "/verify" || !strings.Contains(p.body, "Choose a password") {
		t.Fatalf("after the code: %s\n%s", p.url, p.body)
	}
	if m := b.get("/message"); strings.Contains(m.text(), "MRI") {
		t.Fatal("message shown before the password")
	}
	p = b.post("/password", url.Values{"csrf": {p.csrf()}, "password": {"short"}, "confirm": {"short"}})
	if !strings.Contains(p.body, "at least 10") {
		t.Fatalf("short password: %s", p.body)
	}
	p = b.post("/password", url.Values{"csrf": {p.csrf()}, "password": {"correct horse battery"}, "confirm": {"correct horse"}})
	if !strings.Contains(p.body, "not the same") {
		t.Fatal("mismatch accepted")
	}
	p = b.post("/password", url.Values{"csrf": {p.csrf()}, "password": {"correct horse battery"}, "confirm": {"correct horse battery"}})
	if p.url != "/message" || !strings.Contains(p.body, "Your MRI report") {
		t.Fatalf("after setting the password: %s", p.url)
	}

	again := h.browser()
	h.clk.Add(time.Minute)
	p = again.login(tok, "pat@home.example")
	if !strings.Contains(p.body, "Enter your password") {
		t.Fatalf("returning visit: %s", p.body)
	}
	p = again.post("/password", url.Values{"csrf": {p.csrf()}, "password": {"wrong horse battery"}})
	if !strings.Contains(p.body, "not right") || again.get("/message").url == "/message" {
		t.Fatal("wrong password accepted")
	}
	p = again.post("/password", url.Values{"csrf": {p.csrf()}, "password": {"correct horse battery"}})
	if p.url != "/message" {
		t.Fatalf("right password: %s", p.url)
	}
	wantAudit(t, h, "m1", "created", "code_sent", "login", "view", "code_sent", "factor_failed", "login", "view")
}

func TestPasswordGuessesEndTheVisit(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.RequirePassword = true })
	tok := h.put("m1", "pat@home.example", sampleContent())
	h.st.SetPassword(t.Context(), "pat@home.example", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	b := h.browser()
	p := b.login(tok, "pat@home.example")
	for i := 0; i < 3; i++ {
		p = b.post("/password", url.Values{"csrf": {p.csrf()}, "password": {"guess number " + string(rune('a'+i))}})
	}
	if !strings.Contains(p.body, "Too many tries") {
		t.Fatalf("after 3 wrong passwords: %s", p.body)
	}
	if m := b.get("/verify"); m.status != 401 {
		t.Fatalf("the visit went on: %d", m.status)
	}
}

var secretRE = regexp.MustCompile(`id="secret">([A-Z2-7 ]+)<`)

func TestTOTPEnrolThenRequiredOncePerCode(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.RequireTOTP = true })
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	p := b.login(tok, "pat@home.example")
	m := secretRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no enrolment secret:\n%s", p.body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(m[1], " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	p = b.post("/totp", url.Values{"csrf": {p.csrf()}, "code": {"000000"}})
	if !strings.Contains(p.body, "did not match") {
		t.Fatal("wrong enrolment code accepted")
	}
	code := totp.Code(secret, totp.Step(h.clk.Now()), totp.Digits)
	p = b.post("/totp", url.Values{"csrf": {p.csrf()}, "code": {code}})
	if p.url != "/message" {
		t.Fatalf("after enrolment: %s %s", p.url, p.body)
	}

	again := h.browser()
	p = again.login(tok, "pat@home.example")
	if !strings.Contains(p.body, "Enter your authenticator code") || secretRE.MatchString(p.body) {
		t.Fatalf("returning visit shows: %s", p.body)
	}
	p = again.post("/totp", url.Values{"csrf": {p.csrf()}, "code": {code}})
	if !strings.Contains(p.body, "did not work") {
		t.Fatal("a used authenticator code worked again")
	}
	h.clk.Add(totp.Period)
	p = again.post("/totp", url.Values{"csrf": {p.csrf()}, "code": {totp.Code(secret, totp.Step(h.clk.Now()), totp.Digits)}})
	if p.url != "/message" || !strings.Contains(p.body, "Your MRI report") {
		t.Fatalf("fresh authenticator code: %s", p.url)
	}
}
