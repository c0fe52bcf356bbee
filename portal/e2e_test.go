package portal

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/smtp"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/encrypt"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/portal/box"
	"github.com/sealgate/sealgate/portal/internal/cdp"
)

// sinkCourier stands in for delivery: it sends over SMTP to a sink.
type sinkCourier struct{ addr string }

func (c sinkCourier) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	var to []string
	for _, r := range d.Rcpts {
		to = append(to, r.Addr)
	}
	err := smtp.SendMail(c.addr, nil, d.From, to, d.Body)
	var out []mail.Outcome
	for _, r := range d.Rcpts {
		out = append(out, mail.Outcome{Rcpt: r.Addr, Err: err})
	}
	return out
}

// sinkSpool stands for the gateway's spool: a portal notice submitted to
// it is sent to the sink at once, as the queue's first attempt would.
type sinkSpool struct{ addr string }

func (s sinkSpool) Submit(_ context.Context, g mail.Generated) (string, error) {
	return "N1", smtp.SendMail(s.addr, nil, g.From, g.To, g.Body)
}

const labMessage = "From: Dr Jones <dr.jones@clinic.example>\r\nTo: pat@home.example\r\nSubject: Your lab results\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Your HbA1c is <b>5.4%</b>.</p><img src=\"https://tracker.example/x.gif\">\r\n" +
	"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"lab results.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcKSGJBMWMgNS40\r\n--b--\r\n"

// TestEndToEndFromEncryptorInBrowser: the protection layer leaves a
// message with PHI for a recipient without keys in the portal and mails
// the notification to a sink; Chromium follows the link from that mail,
// gets the code from the sink, reads the message, downloads the file and
// replies; the reply arrives at the sink for the original sender.
func TestEndToEndFromEncryptorInBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	h := newHarness(t, func(o *Options) {
		o.Listen, o.TLS = "127.0.0.1:0", tlsConfig(t)
		o.Sender = smtpSender{addr: sink.Addr}
	})
	if err := h.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.srv.Close(context.Background()) })
	base := "https://" + h.srv.Addr().String()
	c, err := encrypt.New(encrypt.Config{Order: []string{encrypt.MethodPortal}, Portal: box.New(h.st),
		Next: sinkCourier{addr: sink.Addr}, Notices: sinkSpool{addr: sink.Addr}, Notice: encrypt.Notice{BaseURL: base, Organization: "Example Clinic", Hostname: "mx.clinic.example",
			SupportPhone: "+1 (555) 010-0100", SupportEmail: "help@clinic.example", Color: "#00695c",
			Logo:     []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><circle cx="24" cy="24" r="20" fill="#00695c"/></svg>`),
			LogoType: "image/svg+xml"}})
	if err != nil {
		t.Fatal(err)
	}
	out := c.Deliver(ctx, &mail.Delivery{QueueID: "Q42", From: "dr.jones@clinic.example", Domain: "home.example",
		Rcpts: []mail.Rcpt{{Addr: "pat@home.example"}}, Body: []byte(labMessage), Policy: mail.PolicySummary{PHI: true, Action: "encrypt"}})
	if out[0].Err != nil {
		t.Fatal(out[0].Err)
	}
	msgs, err := sink.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	notice, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(msgs[0].Data)))
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/m/[A-Za-z0-9_-]+`).Find(notice)
	if link == nil || bytes.Contains(notice, []byte("HbA1c")) {
		t.Fatalf("notification:\n%s", notice)
	}

	b := chromium(t, ctx)
	shots := artifacts(t)
	must, at, _ := browserSteps(t, ctx, b)
	// The patient opens the notification (its HTML part, the logo given
	// inline as a mail program would) and taps the button.
	page := noticePage(t, msgs[0].Data)
	must(b.Navigate(ctx, "data:text/html;charset=utf-8;base64,"+base64.StdEncoding.EncodeToString([]byte(page))))
	checkNotice(t, ctx, b, shots)
	must(b.Eval(ctx, `document.querySelector('a[href*="/m/"]').click()`, nil))
	at("/pickup")
	must(b.Eval(ctx, `document.querySelector('#send').click()`, nil))
	at("/code/send")
	msgs, err = sink.Wait(2, 30*time.Second)
	must(err)
	code := codeRE.FindSubmatch(msgs[1].Data)
	if code == nil || msgs[1].Rcpts[0] != "pat@home.example" {
		t.Fatalf("code mail: %s", msgs[1].Data)
	}
	must(b.Eval(ctx, fmt.Sprintf(`document.querySelector('#code').value = '%s%s'; document.querySelector('#verify').click()`, code[1], code[2]), nil))
	at("/message")
	p := filepath.Join(shots, "message-from-encryptor.png")
	must(b.Screenshot(ctx, p))
	t.Logf("screenshot %s", p)
	var got struct {
		Subject, Body string
		Imgs          int
	}
	must(b.Eval(ctx, `({Subject: document.querySelector('#subject').textContent, Body: document.querySelector('#body').innerText,
		Imgs: document.querySelectorAll('#body img').length})`, &got))
	if got.Subject != "Your lab results" || !regexp.MustCompile(`HbA1c is 5\.4%`).MatchString(got.Body) || got.Imgs != 0 {
		t.Fatalf("message page: %+v", got)
	}
	want := []byte("%PDF-1.7\nHbA1c 5.4")
	dir := t.TempDir()
	must(b.AllowDownloads(ctx, dir))
	must(b.Eval(ctx, `document.querySelector('a.download').click()`, nil))
	waitFile(t, ctx, filepath.Join(dir, "lab results.pdf"), want)
	must(b.Eval(ctx, `document.querySelector('#reply').value = 'Thank you!'; document.querySelector('#send-reply').click()`, nil))
	at("/reply")
	msgs, err = sink.Wait(3, 30*time.Second)
	must(err)
	if msgs[2].Rcpts[0] != "dr.jones@clinic.example" || !bytes.Contains(msgs[2].Data, []byte("Thank you!")) {
		t.Fatalf("reply: %v\n%s", msgs[2].Rcpts, msgs[2].Data)
	}
}

// noticePage is the notification's HTML part, with the cid: logo made a
// data: URI, as a mail program shows it.
func noticePage(t *testing.T, data []byte) string {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]string{}
	var walk func(ctype string, body io.Reader, enc string)
	walk = func(ctype string, body io.Reader, enc string) {
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header.Get("Content-Type"), p, p.Header.Get("Content-Transfer-Encoding"))
			}
		}
		switch enc {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, _ := io.ReadAll(body)
		parts[mt] = string(b)
	}
	walk(m.Header.Get("Content-Type"), m.Body, "")
	page, logo := parts["text/html"], parts["image/svg+xml"]
	if page == "" || logo == "" || parts["text/plain"] == "" {
		t.Fatalf("notification parts: %v", parts)
	}
	return strings.Replace(page, "cid:logo@notice", "data:image/svg+xml;base64,"+base64.StdEncoding.EncodeToString([]byte(logo)), 1)
}

// checkNotice: the notification's HTML shows the logo, a tappable phone
// and e-mail, passes axe-core's WCAG 2.2 A/AA rules at phone and desktop
// size, and is kept as screenshots.
func checkNotice(t *testing.T, ctx context.Context, b *cdp.Browser, shots string) {
	t.Helper()
	var got struct {
		Logo       bool
		Tel, Email string
	}
	err := b.Eval(ctx, `({Logo: document.querySelector('img').naturalWidth > 0,
		Tel: document.querySelector('a[href^="tel:"]').getAttribute('href'),
		Email: document.querySelector('a[href^="mailto:"]').getAttribute('href')})`, &got)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Logo || got.Tel != "tel:+15550100100" || got.Email != "mailto:help@clinic.example" {
		t.Errorf("notification shows %+v", got)
	}
	src := loadAxeOrNil(t)
	for _, vp := range viewports {
		if err := b.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{"width": vp.width, "height": vp.height,
			"deviceScaleFactor": 1, "mobile": vp.mobile}, nil); err != nil {
			t.Fatal(err)
		}
		if src != "" {
			vs, err := runAxe(ctx, b, src)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				t.Errorf("notification (%s): WCAG violation %s [%s] %s at %v", vp.name, v.ID, v.Impact, v.Help, v.Nodes)
			}
		}
		if err := b.Screenshot(ctx, filepath.Join(shots, "notification-"+vp.name+".png")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Call(ctx, "Emulation.clearDeviceMetricsOverride", nil, nil); err != nil {
		t.Fatal(err)
	}
}
