package portal

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// clinic gives the harness a clinic's full branding.
func clinic(o *Options) {
	o.Branding.SupportPhone = "+1 (555) 010-0100"
	o.Branding.SupportEmail = "help@clinic.example"
	o.Branding.Support = "Mon–Fri 8:00–18:00"
}

// getLang fetches path with an Accept-Language header.
func (b *browser) getLang(path, accept string) page {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	req.Header.Set("Accept-Language", accept)
	return b.do(req)
}

func (b *browser) postLang(path, accept string, form url.Values) page {
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", accept)
	return b.do(req)
}

// TestDeadLinksHelpfulAndAlike: a revoked, an expired and a made-up link
// give a stranger the same status and the same pages as each other and
// as a live link (modulo the random form token), and the code page tells
// a patient whose code does not come what that means and whom to call.
func TestDeadLinksHelpfulAndAlike(t *testing.T) {
	h := newHarness(t, clinic)
	live := h.put("m1", "pat@home.example", sampleContent())
	revoked := h.put("m2", "pat@home.example", sampleContent())
	h.st.Revoke(context.Background(), "m2", "test")
	madeUp := strings.Repeat("Q", len(live))
	for _, accept := range []string{"en-US,en;q=0.9", "es-MX,es;q=0.8"} {
		var starts, codes []page
		for _, tok := range []string{live, revoked, madeUp} {
			b := h.browser()
			p := b.getLang("/m/"+tok, accept)
			c := b.postLang("/code/send", accept, url.Values{"csrf": {p.csrf()}, "tz": {"America/Chicago"}})
			starts, codes = append(starts, p), append(codes, c)
		}
		for i := 1; i < 3; i++ {
			if starts[i].status != starts[0].status || starts[i].url != starts[0].url ||
				volatileRE.ReplaceAllString(starts[i].body, "") != volatileRE.ReplaceAllString(starts[0].body, "") {
				t.Fatalf("%s: start page %d differs from the live link's:\n%s\n----\n%s", accept, i, starts[i].body, starts[0].body)
			}
			if codes[i].status != codes[0].status ||
				volatileRE.ReplaceAllString(codes[i].body, "") != volatileRE.ReplaceAllString(codes[0].body, "") {
				t.Fatalf("%s: code page %d differs from the live link's", accept, i)
			}
		}
		c := html.UnescapeString(codes[1].text())
		for _, want := range []string{`href="tel:+15550100100"`, `href="mailto:help@clinic.example"`, `id="nocode"`} {
			if !strings.Contains(c, want) {
				t.Errorf("%s: the code page after a revoked link lacks %s", accept, want)
			}
		}
		want := map[bool]string{true: "No code after 5 minutes?", false: "¿No ha recibido el código después de 5 minutos?"}[strings.HasPrefix(accept, "en")]
		if !strings.Contains(c, want) {
			t.Errorf("%s: the code page does not say what to do when no code comes (%q)", accept, want)
		}
	}
	mails := h.out.all()
	if len(mails) != 2 || mails[0].To[0] != "pat@home.example" || mails[1].To[0] != "pat@home.example" {
		t.Fatalf("want one code per language for the live link only, got %d mails", len(mails))
	}
}

// TestExpiredLinkLooksMadeUp: a link past its message's expiry gives the
// same pages as one that never existed.
func TestExpiredLinkLooksMadeUp(t *testing.T) {
	h := newHarness(t, func(o *Options) { clinic(o); o.SessionIdle = 200 * time.Hour })
	expired := h.put("m1", "pat@home.example", sampleContent())
	h.clk.Add(73 * time.Hour)
	a, b := h.browser(), h.browser()
	pa, pb := a.get("/m/"+expired), b.get("/m/"+strings.Repeat("Z", len(expired)))
	ca := a.post("/code/send", url.Values{"csrf": {pa.csrf()}})
	cb := b.post("/code/send", url.Values{"csrf": {pb.csrf()}})
	if pa.status != pb.status || ca.status != cb.status ||
		volatileRE.ReplaceAllString(pa.body, "") != volatileRE.ReplaceAllString(pb.body, "") ||
		volatileRE.ReplaceAllString(ca.body, "") != volatileRE.ReplaceAllString(cb.body, "") {
		t.Fatal("an expired link's pages differ from a made-up link's")
	}
	if n := len(h.out.all()); n != 0 {
		t.Fatalf("%d mails for an expired link", n)
	}
}

// TestClinicOnEveryPage: the clinic's name, tappable phone and e-mail are
// on every page; the landing page names the clinic.
func TestClinicOnEveryPage(t *testing.T) {
	h := newHarness(t, clinic)
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	start := b.get("/m/" + tok)
	if !strings.Contains(start.text(), "This link is for a secure message from Example Clinic.") ||
		strings.Contains(start.text(), "Someone sent you") {
		t.Errorf("the landing page does not name the clinic:\n%s", start.body)
	}
	code := b.post("/code/send", url.Values{"csrf": {start.csrf()}})
	msg := b.post("/code/verify", url.Values{"csrf": {code.csrf()}, "code": {h.out.lastCode("pat@home.example")}})
	pages := map[string]page{"start": start, "code": code, "message": msg, "home": h.browser().get("/"),
		"not found": h.browser().get("/nothing"), "no session": h.browser().get("/pickup")}
	for name, p := range pages {
		for _, want := range []string{`<span class="org" id="org">Example Clinic</span>`,
			`<a class="tel" href="tel:+15550100100">Call +1 (555) 010-0100</a>`,
			`<a class="mailto" href="mailto:help@clinic.example">Email help@clinic.example</a>`, "Mon–Fri 8:00–18:00"} {
			if !strings.Contains(html.UnescapeString(p.text()), want) {
				t.Errorf("%s page lacks %s", name, want)
			}
		}
	}
	mail := string(h.out.all()[0].Data)
	for _, want := range []string{"Phone: +1 (555) 010-0100", "Email: help@clinic.example"} {
		if !strings.Contains(mail, want) {
			t.Errorf("the code mail lacks %q:\n%s", want, mail)
		}
	}
}

// TestLanguageChoice: Accept-Language picks Spanish (es-MX too), an
// unknown language falls back to the configured one, ?lang= switches and
// is remembered in a cookie that holds only the language code.
func TestLanguageChoice(t *testing.T) {
	h := newHarness(t, clinic)
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	es := b.getLang("/m/"+tok, "es-MX,es;q=0.9,en;q=0.5")
	if !strings.Contains(es.body, `<html lang="es">`) || !strings.Contains(es.body, "<h1>Confirme que es usted</h1>") ||
		es.header.Get("Content-Language") != "es" {
		t.Fatalf("Accept-Language es-MX did not give Spanish:\n%s", es.body)
	}
	if fr := h.browser().getLang("/", "fr-FR,fr;q=0.9"); !strings.Contains(fr.body, `<html lang="en">`) {
		t.Fatal("French did not fall back to English")
	}
	// Switch to English on the page, though the browser asks for Spanish.
	sw := b.getLang("/pickup?lang=en", "es-MX")
	if sw.url != "/pickup" || !strings.Contains(sw.body, "<h1>Check it&#39;s you</h1>") {
		t.Fatalf("switch to English: %s\n%s", sw.url, sw.body)
	}
	u, _ := url.Parse(b.base)
	var got []string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == langCookie {
			got = append(got, c.Value)
		}
	}
	if len(got) != 1 || got[0] != "en" {
		t.Fatalf("language cookie %v, want [en]", got)
	}
	code := b.postLang("/code/send", "es-MX", url.Values{"csrf": {sw.csrf()}})
	if !strings.Contains(code.body, "<h1>Enter your code</h1>") {
		t.Fatal("the chosen language was not remembered")
	}
	// The switcher on the code page leads back to the code page, in Spanish.
	if !strings.Contains(code.body, `href="/code?lang=es"`) {
		t.Fatalf("no switch to Spanish on the code page:\n%s", code.body)
	}
	again := b.get("/code?lang=es")
	if again.url != "/code" || !strings.Contains(again.body, "<h1>Escriba su código</h1>") {
		t.Fatalf("switch on the code page: %s\n%s", again.url, again.body)
	}
	// An unknown language is ignored.
	bad := h.browser()
	bad.get("/?lang=xx")
	for _, c := range bad.c.Jar.Cookies(u) {
		if c.Name == langCookie {
			t.Fatalf("unknown language remembered: %q", c.Value)
		}
	}
}

// TestCodeMailInChosenLanguageAndSender: the code mail is in the page's
// language, from the configured sender, with no PHI.
func TestCodeMailInChosenLanguageAndSender(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		clinic(o)
		o.From, o.FromName = "codes@clinic.example", "Example Clinic Patient Desk"
	})
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	p := b.getLang("/m/"+tok, "es")
	b.postLang("/code/send", "es", url.Values{"csrf": {p.csrf()}})
	mails := h.out.all()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	m := mails[0]
	data := decodeQP(t, m.Data)
	if m.From != "codes@clinic.example" || !strings.Contains(data, `From: "Example Clinic Patient Desk" <codes@clinic.example>`) {
		t.Errorf("sender: %s\n%s", m.From, data)
	}
	if !regexp.MustCompile(`Su código de un solo uso es \d{4} \d{4}`).MatchString(data) ||
		!strings.Contains(data, "Content-Language: es") || !strings.Contains(string(m.Data), "Subject: =?utf-8?q?Su_c=C3=B3digo_para_Example_Clinic?=") ||
		!strings.Contains(data, "Teléfono: +1 (555) 010-0100") {
		t.Errorf("the code mail is not in Spanish:\n%s", data)
	}
	for _, phi := range []string{"MRI", "dr.jones", "scan"} {
		if strings.Contains(data, phi) {
			t.Errorf("the code mail carries %q", phi)
		}
	}
}

// TestTimesInPatientsZone: the expiry is shown in the zone the browser
// reported, named; without one (or with a bad one) in the configured zone.
func TestTimesInPatientsZone(t *testing.T) {
	cases := []struct{ tz, conf, want string }{
		{"America/Chicago", "", "Wednesday 4 March 2026 at 03:00 (CST, America/Chicago)"},
		{"", "America/New_York", "Wednesday 4 March 2026 at 04:00 (EST, America/New_York)"},
		{"../../etc/passwd", "", "Wednesday 4 March 2026 at 09:00 (UTC)"},
		{"Asia/Kolkata", "", "Wednesday 4 March 2026 at 14:30 (IST, Asia/Kolkata)"},
	}
	for _, c := range cases {
		h := newHarness(t, func(o *Options) {
			if c.conf != "" {
				o.TimeZone, _ = time.LoadLocation(c.conf)
			}
		})
		tok := h.put("m1", "pat@home.example", sampleContent())
		b := h.browser()
		p := b.get("/m/" + tok)
		code := b.post("/code/send", url.Values{"csrf": {p.csrf()}, "tz": {c.tz}})
		msg := b.post("/code/verify", url.Values{"csrf": {code.csrf()}, "code": {h.out.lastCode("pat@home.example")}})
		if !strings.Contains(msg.body, `<dd id="until">`+c.want+`</dd>`) {
			t.Errorf("tz %q conf %q: want %q on\n%s", c.tz, c.conf, c.want, msg.body)
		}
	}
}

// decodeQP undoes the quoted-printable soft breaks and =XX escapes of a
// mail body enough to search it.
func decodeQP(t *testing.T, data []byte) string {
	t.Helper()
	s := strings.ReplaceAll(string(data), "=\r\n", "")
	return regexp.MustCompile(`=[0-9A-F]{2}(=[0-9A-F]{2})*`).ReplaceAllStringFunc(s, func(m string) string {
		var b []byte
		for i := 0; i+2 < len(m)+1 && i < len(m); i += 3 {
			var v byte
			for _, c := range m[i+1 : i+3] {
				v <<= 4
				if c >= 'A' {
					v |= byte(c-'A') + 10
				} else {
					v |= byte(c - '0')
				}
			}
			b = append(b, v)
		}
		return string(b)
	})
}

// TestClinicMailInConfiguredLanguage: the read receipt and the reply wrapper
// go to the clinic in the configured language, whatever the patient reads.
func TestClinicMailInConfiguredLanguage(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Language, o.ReadReceipts = "es", true })
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	p := b.getLang("/m/"+tok, "en")
	c := b.postLang("/code/send", "en", url.Values{"csrf": {p.csrf()}})
	msg := b.postLang("/code/verify", "en", url.Values{"csrf": {c.csrf()}, "code": {h.out.lastCode("pat@home.example")}})
	if !strings.Contains(msg.body, "<h1>Your secure message</h1>") {
		t.Fatalf("the patient asked for English:\n%s", msg.body)
	}
	mails := h.out.all()
	receipt := decodeQP(t, mails[len(mails)-1].Data)
	if !strings.Contains(string(mails[len(mails)-1].Data), "Subject: =?utf-8?q?Le=C3=ADdo:_mensaje_seguro_m1?=") ||
		!strings.Contains(receipt, "El destinatario abrió su mensaje seguro m1 el domingo 1 de marzo de 2026, a las 09:00 (UTC).") {
		t.Errorf("receipt:\n%s", receipt)
	}
}

// TestZoneKeptInSharedSessions: the browser's zone, told on one node, is
// used by another node reading the same stored session.
func TestZoneKeptInSharedSessions(t *testing.T) {
	h := newHarnessOn(t, "sqlite", func(o *Options) { o.SharedSessions = true })
	ts2 := h.secondNode()
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	p := b.get("/m/" + tok)
	c := b.post("/code/send", url.Values{"csrf": {p.csrf()}, "tz": {"America/Chicago"}})
	b.post("/code/verify", url.Values{"csrf": {c.csrf()}, "code": {h.out.lastCode("pat@home.example")}})
	b.base = ts2.URL
	m := b.get("/message")
	if !strings.Contains(m.body, `<dd id="until">Wednesday 4 March 2026 at 03:00 (CST, America/Chicago)</dd>`) {
		t.Fatalf("node 2 shows:\n%s", m.body)
	}
}

// TestLanguageSwitchStaysOnSite: the language switch reloads a page of this
// site only; a path that a browser would read as another host
// ("//evil.example/x") is sent to the start page instead, so the portal's own
// address cannot be used to lead a patient to a look-alike that asks for
// their code.
func TestLanguageSwitchStaysOnSite(t *testing.T) {
	for in, want := range map[string]string{"//evil.example/x": "/", "/\\evil.example": "/", "/pickup": "/pickup",
		"evil.example": "/", "/%2F%2Fevil.example": "/%2F%2Fevil.example"} {
		if got := samePath(in); got != want {
			t.Errorf("samePath(%q) = %q, want %q", in, got, want)
		}
	}
	h := newHarness(t, clinic)
	c := *h.ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, path := range []string{"//evil.example/x", "/%2F%2Fevil.example", "/\\evil.example", "/pickup"} {
		req, err := http.NewRequest(http.MethodGet, h.ts.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque, req.URL.RawQuery = path, "lang=es" // sent as written, not cleaned
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		res.Body.Close()
		loc := res.Header.Get("Location")
		u, err := url.Parse(loc)
		if res.StatusCode != http.StatusSeeOther || err != nil || u.Host != "" || u.Scheme != "" ||
			strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Errorf("GET %s?lang=es: %d Location %q, want a 303 to a path of this site", path, res.StatusCode, loc)
		}
	}
}
