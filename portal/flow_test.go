package portal

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/store"
)

func TestPickupReadDownloadReply(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	p := b.login(tok, "pat@home.example")
	if p.url != "/message" || !strings.Contains(p.body, "Your MRI report") || !strings.Contains(p.body, "<b>no change</b>") {
		t.Fatalf("message page %s %d:\n%s", p.url, p.status, p.body)
	}
	if !strings.Contains(p.body, "This message expires on Wednesday 4 March 2026 at 09:00 (UTC)") {
		t.Errorf("no expiry line")
	}
	if got := h.out.all()[0]; strings.Contains(string(got.Data), "MRI") || strings.Contains(string(got.Data), "dr.jones") {
		t.Errorf("code mail leaks the message: %s", got.Data)
	}

	d := b.get("/attachment/0")
	if d.body != "%PDF-1.7\nreport bytes\x00\x01" || d.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("download: %q %q", d.body, d.header.Get("Content-Type"))
	}
	if _, params, _ := mime.ParseMediaType(d.header.Get("Content-Disposition")); params["filename"] != "mri report.pdf" {
		t.Errorf("disposition %q", d.header.Get("Content-Disposition"))
	}
	if b.get("/attachment/1").status != http.StatusNotFound {
		t.Error("attachment out of range")
	}

	r := b.reply(p.csrf(), "Thank you, doctor.", "question.txt", []byte("When is my next visit?"))
	if r.status != http.StatusOK || !strings.Contains(r.body, "Your reply was sent") {
		t.Fatalf("reply %d: %s", r.status, r.body)
	}
	mails := h.out.all()
	last := mails[len(mails)-1]
	if last.To[0] != "dr.jones@clinic.example" || last.From != "portal@clinic.example" {
		t.Fatalf("reply envelope %s -> %v", last.From, last.To)
	}
	for _, want := range []string{"Subject: Re: Your MRI report", "Reply-To: <pat@home.example>", "Thank you, doctor.", "filename=question.txt"} {
		if !bytes.Contains(last.Data, []byte(want)) {
			t.Errorf("reply lacks %q:\n%s", want, last.Data)
		}
	}
	wantAudit(t, h, "m1", store.EventCreated, store.EventCodeSent, store.EventLogin, store.EventView, store.EventDownload, store.EventReply)
	if v := testutil.ToFloat64(h.srv.metrics.views); v != 1 {
		t.Errorf("views_total %v", v)
	}
	if v := testutil.ToFloat64(h.srv.metrics.messages); v != 1 {
		t.Errorf("sealgate_portal_messages %v", v)
	}
}

func (b *browser) reply(csrf, text, name string, data []byte) page {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", csrf)
	mw.WriteField("text", text)
	fw, _ := mw.CreateFormFile("files", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", b.base+"/reply", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

func wantAudit(t *testing.T, h *harness, id string, kinds ...string) {
	t.Helper()
	evs, err := h.st.Audit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Kind)
		if e.Kind != store.EventCreated && e.Kind != store.EventExpire && e.Kind != store.EventRevoke && e.Remote == "" {
			t.Errorf("%s event without remote address", e.Kind)
		}
	}
	if strings.Join(got, ",") != strings.Join(kinds, ",") {
		t.Fatalf("audit %v, want %v", got, kinds)
	}
}

func TestSecurityHeadersAndCookie(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	req, _ := http.NewRequest("GET", h.ts.URL+"/p/"+tok, nil)
	c := *h.ts.Client() // a copy: the test server's client is shared
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	hd := resp.Header
	for k, want := range map[string]string{
		"Content-Security-Policy":   "default-src 'none'",
		"Cache-Control":             "no-store",
		"Strict-Transport-Security": "max-age=",
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           "no-referrer",
	} {
		if !strings.Contains(hd.Get(k), want) {
			t.Errorf("%s = %q, want %q", k, hd.Get(k), want)
		}
	}
	if strings.Contains(hd.Get("Content-Security-Policy"), "script-src") || strings.Contains(hd.Get("Content-Security-Policy"), "unsafe") {
		t.Errorf("CSP allows scripts: %s", hd.Get("Content-Security-Policy"))
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/pickup" {
		t.Errorf("link answered %d -> %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	// Lax until the code is proven, so a link opened from webmail works.
	if len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode ||
		!strings.HasPrefix(cookies[0].Name, "__Host-") {
		t.Fatalf("cookie %+v", cookies)
	}
	if strings.Contains(cookies[0].Value, tok) {
		t.Fatal("cookie carries the link token")
	}
	// Strict from the code on.
	b := h.browser()
	p := b.start(tok)
	form := url.Values{"csrf": {p.csrf()}, "code": {h.out.lastCode("pat@home.example")}}
	req, _ = http.NewRequest("POST", h.ts.URL+"/code/verify", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	bc := *b.c
	bc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = bc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies = resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("after the code: %d, cookie %+v", resp.StatusCode, cookies)
	}
}

func TestHTMLRenderedInert(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	p := h.browser().login(tok, "pat@home.example")
	if !strings.Contains(p.body, "details") || !strings.Contains(p.body, "[image not shown]") {
		t.Fatalf("content missing:\n%s", p.body)
	}
	for _, bad := range []string{"<script", "alert", "tracker.example", "javascript:", "<img src=\"https"} {
		if strings.Contains(p.body, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
}
