package portal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/smtp"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/sealgate/sealgate/encrypt"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/portal/box"
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
		Next: sinkCourier{addr: sink.Addr}, Notice: encrypt.Notice{BaseURL: base, Organization: "Example Clinic", Hostname: "mx.clinic.example"}})
	if err != nil {
		t.Fatal(err)
	}
	out := c.Deliver(ctx, &mail.Delivery{QueueID: "Q42", From: "dr.jones@clinic.example", Domain: "home.example",
		Rcpts: []mail.Rcpt{{Addr: "pat@home.example"}}, Body: []byte(labMessage), Policy: mail.PolicySummary{PHI: true, Action: "encrypt"}})
	if out[0].Err != nil {
		t.Fatal(out[0].Err)
	}
	msgs, err := sink.Wait(1, 10*time.Second)
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
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(path string) {
		t.Helper()
		must(b.WaitFor(ctx, fmt.Sprintf("location.pathname === %q && document.readyState === 'complete'", path)))
	}
	must(b.Navigate(ctx, string(link)))
	at("/pickup")
	must(b.Eval(ctx, `document.querySelector('#send').click()`, nil))
	at("/code/send")
	msgs, err = sink.Wait(2, 10*time.Second)
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
	msgs, err = sink.Wait(3, 10*time.Second)
	must(err)
	if msgs[2].Rcpts[0] != "dr.jones@clinic.example" || !bytes.Contains(msgs[2].Data, []byte("Thank you!")) {
		t.Fatalf("reply: %v\n%s", msgs[2].Rcpts, msgs[2].Data)
	}
}
