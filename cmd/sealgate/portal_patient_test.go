package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"html"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/encrypt"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/portal/box"
)

// TestPortalPatientSettings: portal.language, time_zone, from, from_name
// and the branding's support_phone and support_email reach the pages, the
// code mail and the notification.
func TestPortalPatientSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := config.Default(t.TempDir())
	cfg.Portal.Listen = "127.0.0.1:0"
	cfg.Portal.Language, cfg.Portal.TimeZone = "es", "America/Chicago"
	cfg.Portal.From, cfg.Portal.FromName = "codigos@clinica.example", "Clínica Ejemplo Pacientes"
	cfg.Portal.Branding = config.Branding{Organization: "Clínica Ejemplo", SupportPhone: "+1 (555) 010-0100",
		SupportEmail: "ayuda@clinica.example"}
	q := &fakeQueue{}
	st, base := servePortal(t, cfg, q)
	cfg.Portal.BaseURL = base
	notice, err := (&protectBuilder{cfg: cfg}).notice()
	if err != nil {
		t.Fatal(err)
	}
	notices := &fakeQueue{}
	c, err := encrypt.New(encrypt.Config{Order: []string{encrypt.MethodPortal}, Portal: box.New(st), Next: &recordCourier{},
		Notices: notices, Notice: notice})
	if err != nil {
		t.Fatal(err)
	}
	out := c.Deliver(ctx, &mail.Delivery{QueueID: "Q1", From: "dr@clinic.example", Domain: "home.example",
		Rcpts: []mail.Rcpt{{Addr: "pat@home.example"}}, Body: []byte(pickupMessage), Policy: mail.PolicySummary{PHI: true, Action: "encrypt"}})
	if len(out) != 1 || out[0].Err != nil {
		t.Fatalf("hand-off: %+v", out)
	}
	// The whole notification read as quoted-printable: both parts decode,
	// the boundaries and headers pass through.
	decoded, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(notices.got[0].Body)))
	n := html.UnescapeString(string(decoded))
	for _, want := range []string{"Ha recibido un mensaje seguro", "(CST, America/Chicago)", `href="tel:+15550100100"`,
		"mailto:ayuda@clinica.example", "Teléfono: +1 (555) 010-0100"} {
		if !strings.Contains(n, want) {
			t.Errorf("notification lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(n), "biopsy") {
		t.Fatal("the notification carries the message")
	}
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/m/[A-Za-z0-9_-]+`).FindString(n)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	start := fetch(t, hc, "GET", link, nil) // no Accept-Language: the configured language
	if !strings.Contains(start, "Este enlace es para un mensaje seguro de Clínica Ejemplo.") ||
		!strings.Contains(html.UnescapeString(start), `href="tel:+15550100100"`) {
		t.Fatalf("start page:\n%s", start)
	}
	fetch(t, hc, "POST", base+"/code/send", url.Values{"csrf": {csrfOf(t, start)}})
	_, data := q.waitLast(t)
	code := string(data)
	if !strings.Contains(code, "<codigos@clinica.example>") || !strings.Contains(code, "Cl=C3=ADnica_Ejemplo_Pacientes") ||
		!strings.Contains(code, "Su c=C3=B3digo de un solo uso es") {
		t.Errorf("code mail:\n%s", code)
	}
}
