package encrypt

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/encrypt/pgp"
)

func TestNoticeHeadersAndBody(t *testing.T) {
	n := Notice{Subject: "Nachricht für Sie", BaseURL: "https://p.example.org/", Hostname: "gw.example.org"}.withDefaults()
	msg, err := n.build(noticeRequest{From: "", To: "pat@example.net", Token: "TOKEN", Expires: t0.Add(720 * time.Hour), Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("notification does not parse: %v", err)
	}
	dec, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil || dec != "Nachricht für Sie" {
		t.Errorf("Subject decodes to %q (%v)", dec, err)
	}
	from, err := mail.ParseAddress(m.Header.Get("From"))
	if err != nil || from.Address != "postmaster@gw.example.org" || from.Name != "gw.example.org" {
		t.Errorf("From for a bounce = %v (%v)", from, err)
	}
	if !strings.HasSuffix(m.Header.Get("Message-ID"), "@gw.example.org>") {
		t.Errorf("Message-ID %q", m.Header.Get("Message-ID"))
	}
	sevenBit(t, msg)
	parts := noticeParts(t, msg)
	for _, want := range []string{"https://p.example.org/m/TOKEN", "Sunday 27 December 2026 at 10:00 (UTC)",
		"You have received a secure message. To protect your privacy",
		"Este mensaje también se puede leer en español"} {
		for _, ct := range []string{"text/plain", "text/html"} {
			if !strings.Contains(parts[ct], want) {
				t.Errorf("%s part lacks %q", ct, want)
			}
		}
	}
}

// TestNoticeClinicSpanish: a Spanish notification from a clinic with a
// phone, an e-mail address and a logo: both parts in Spanish with the
// contact (tappable in HTML), the expiry in the clinic's zone, the logo
// inside the message, an invitation to read it in English.
func TestNoticeClinicSpanish(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	logo := []byte("\x89PNG\r\n\x1a\nlogo")
	n := Notice{BaseURL: "https://p.example.org", Hostname: "gw.example.org", Organization: "Clínica Ejemplo",
		Language: "es", Location: chicago, SupportPhone: "+1 (555) 010-0100", SupportEmail: "ayuda@clinica.example",
		Support: "L–V 8:00–18:00", Color: "#00695c", Logo: logo, LogoType: "image/png"}.withDefaults()
	msg, err := n.build(noticeRequest{From: "dr@clinica.example", To: "pat@example.net", Token: "TOKEN", Expires: t0.Add(720 * time.Hour), Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	sevenBit(t, msg)
	m, _ := mail.ReadMessage(bytes.NewReader(msg))
	if dec, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); dec != "Tiene un mensaje seguro" || m.Header.Get("Content-Language") != "es" {
		t.Errorf("Subject %q, Content-Language %q", dec, m.Header.Get("Content-Language"))
	}
	parts := noticeParts(t, msg)
	for _, want := range []string{"Ha recibido un mensaje seguro", "De: Clínica Ejemplo", "https://p.example.org/m/TOKEN",
		"Está disponible hasta el domingo 27 de diciembre de 2026, a las 04:00 (CST, America/Chicago).",
		"¿Preguntas? Comuníquese con Clínica Ejemplo:", "Teléfono: +1 (555) 010-0100", "ayuda@clinica.example",
		"L–V 8:00–18:00", "This message can also be read in English"} {
		for _, ct := range []string{"text/plain", "text/html"} {
			if !strings.Contains(html.UnescapeString(parts[ct]), want) {
				t.Errorf("%s part lacks %q", ct, want)
			}
		}
	}
	h := parts["text/html"]
	for _, want := range []string{`<html lang="es">`, `href="tel:&#43;15550100100"`, `href="mailto:ayuda@clinica.example"`,
		`<img src="cid:logo@notice"`, `background:#00695c`, `<p lang="en">`} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML part lacks %s:\n%s", want, h)
		}
	}
	if parts["image/png"] != string(logo) || parts["cid"] != "<logo@notice>" {
		t.Errorf("logo part %q with Content-ID %q", parts["image/png"], parts["cid"])
	}
}

// sevenBit: every line of msg is 7-bit and at most 78 bytes.
func sevenBit(t *testing.T, msg []byte) {
	t.Helper()
	for i, line := range bytes.Split(msg, []byte("\r\n")) {
		if len(line) > 78 {
			t.Errorf("line %d is %d bytes long", i, len(line))
		}
		for _, c := range line {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit", i)
			}
		}
	}
}

// noticeParts walks a notification: multipart/alternative of text/plain
// and text/html (alone or in multipart/related with the logo). It returns
// each leaf's decoded body by type, and the logo's Content-ID as "cid".
func noticeParts(t *testing.T, msg []byte) map[string]string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(ctype string, body io.Reader, h textproto.MIMEHeader)
	walk = func(ctype string, body io.Reader, h textproto.MIMEHeader) {
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			t.Fatalf("content type %q: %v", ctype, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(p.Header.Get("Content-Type"), p, p.Header)
			}
		}
		var r io.Reader = body
		switch h.Get("Content-Transfer-Encoding") {
		case "quoted-printable":
			r = quotedprintable.NewReader(body)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, body)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out[mt] = string(data)
		if cid := h.Get("Content-ID"); cid != "" {
			out["cid"] = cid
		}
	}
	if mt := m.Header.Get("Content-Type"); !strings.HasPrefix(mt, "multipart/alternative;") {
		t.Fatalf("notification is %s, want multipart/alternative", mt)
	}
	walk(m.Header.Get("Content-Type"), m.Body, textproto.MIMEHeader(m.Header))
	if out["text/plain"] == "" || out["text/html"] == "" {
		t.Fatalf("notification lacks a text or an HTML part: %v", out)
	}
	return out
}

func TestNoticeRefusesLineBreaks(t *testing.T) {
	n := Notice{Subject: "Hello\r\nBcc: x@example.org", BaseURL: "https://p.example.org"}.withDefaults()
	if _, err := n.build(noticeRequest{From: "a@b.example", To: "c@d.example", Token: "T", Now: t0}); err == nil {
		t.Fatal("a subject with a line break was accepted")
	}
}

func TestWatcherAndReloadFollowTheKeyFolder(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	kr, err := pgp.LoadKeyring(f.keyDir, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.c.cfg.Keyring = kr
	if ch := f.c.choose(context.Background(), f.c.cfg.Order, "new@example.net", nil, map[string]bool{}, ""); ch.method != MethodTLS {
		t.Fatalf("before the key is added: %s", ch.method)
	}
	w := Watch(time.Hour, nil, kr) // the ticker never fires in this test
	defer w.Close()
	writeFile(t, f.keyDir, "new.asc", armoredPublic(t, newPGPKey(t, "new@example.net", 0)))
	// Make the change visible to the folder stamp even on coarse clocks.
	os.Chtimes(filepath.Join(f.keyDir, "new.asc"), t0, t0)
	ReloadAll(t0, f.c.cfg.Logger, kr)
	if ch := f.c.choose(context.Background(), f.c.cfg.Order, "new@example.net", nil, map[string]bool{}, ""); ch.method != MethodPGP {
		t.Fatalf("after reload: %s, want pgp", ch.method)
	}
}
