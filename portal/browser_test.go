package portal

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/certgen"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/portal/internal/cdp"
)

// chromium returns a started headless browser, or skips without one
// (outside CI).
func chromium(t *testing.T, ctx context.Context) *cdp.Browser {
	t.Helper()
	bin := cdp.Find()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; .ci/run must install it")
		}
		t.Skip("chromium is not installed; skipping the browser test")
	}
	profile, err := os.MkdirTemp("", "sealgate-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	b, err := cdp.Start(ctx, bin, profile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// artifacts is where screenshots go: $SEALGATE_ARTIFACTS if set (CI keeps
// it), else the test's temp dir.
func artifacts(t *testing.T) string {
	if d := os.Getenv("SEALGATE_ARTIFACTS"); d != "" {
		d = filepath.Join(d, t.Name())
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func tlsConfig(t *testing.T) *tls.Config {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if _, err := certgen.EnsureSelfSigned(cert, key, []string{"127.0.0.1", "localhost"}); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

// TestBrowserPickup drives headless Chromium through the whole pickup:
// follow the link, ask for a code, enter the code from the mail, read the
// message, download the attachment, reply with a file.
func TestBrowserPickup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	h := newHarness(t, func(o *Options) {
		o.Listen, o.TLS = "127.0.0.1:0", tlsConfig(t)
		o.Sender = smtpSender{addr: sink.Addr} // codes and replies travel over real SMTP
	})
	if err := h.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.srv.Close(context.Background()) })
	base := "https://" + h.srv.Addr().String()
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := chromium(t, ctx)
	shots := artifacts(t)
	shot := func(name string) {
		p := filepath.Join(shots, name+".png")
		if err := b.Screenshot(ctx, p); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
	}
	must, at, _ := browserSteps(t, ctx, b)

	must(b.Navigate(ctx, base+"/p/"+tok))
	at("/pickup")
	shot("01-start")
	must(b.Eval(ctx, `document.querySelector('#send').click()`, nil))
	at("/code/send")
	shot("02-code")
	msgs, err := sink.Wait(1, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := codeRE.FindSubmatch(msgs[0].Data)
	if m == nil || msgs[0].Rcpts[0] != "pat@home.example" {
		t.Fatalf("no code mailed to the recipient: %s", msgs[0].Data)
	}
	code := string(m[1]) + string(m[2])
	must(b.Eval(ctx, fmt.Sprintf(`document.querySelector('#code').value = %q; document.querySelector('#verify').click()`, code[:4]+" "+code[4:]), nil))
	at("/message")
	shot("03-message")
	checkMessagePage(t, ctx, b)
	checkLabels(t, ctx, b)
	must(b.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true}, nil))
	shot("03-message-phone")
	var overflow bool
	must(b.Eval(ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow))
	if overflow {
		t.Error("the message page scrolls sideways on a phone")
	}
	must(b.Call(ctx, "Emulation.clearDeviceMetricsOverride", nil, nil))
	downloadAndCompare(t, ctx, b)
	replyWithFile(t, ctx, b, sink)
	at("/reply")
	shot("04-reply-sent")
	var heading string
	must(b.Eval(ctx, `document.querySelector('h1').textContent`, &heading))
	if heading != "Your reply was sent" {
		t.Fatalf("after reply: %q", heading)
	}
	wantAudit(t, h, "m1", "created", "code_sent", "login", "view", "download", "reply")
}

func checkMessagePage(t *testing.T, ctx context.Context, b *cdp.Browser) {
	var got struct {
		Subject, Body string
		Imgs, Scripts int
		Links         []string
	}
	err := b.Eval(ctx, `({Subject: document.querySelector('#subject').textContent,
		Body: document.querySelector('#body').innerText,
		Imgs: document.querySelectorAll('#body img').length,
		Scripts: document.querySelectorAll('script').length,
		Links: [...document.querySelectorAll('#body a')].map(a => a.href)})`, &got)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "Your MRI report" || !strings.Contains(got.Body, "no change") {
		t.Fatalf("message page shows %+v", got)
	}
	if got.Imgs != 0 || got.Scripts != 0 || len(got.Links) != 0 {
		t.Fatalf("active content on the page: %+v", got)
	}
}

// checkLabels: every visible form field has a label (WCAG 2.1 1.3.1, 4.1.2).
func checkLabels(t *testing.T, ctx context.Context, b *cdp.Browser) {
	var unlabelled []string
	err := b.Eval(ctx, `[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
		.filter(f => !f.id || !document.querySelector('label[for="' + f.id + '"]')).map(f => f.name)`, &unlabelled)
	if err != nil {
		t.Fatal(err)
	}
	if len(unlabelled) != 0 {
		t.Errorf("fields without a label: %v", unlabelled)
	}
}

func downloadAndCompare(t *testing.T, ctx context.Context, b *cdp.Browser) {
	dir := t.TempDir()
	if err := b.AllowDownloads(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if err := b.Eval(ctx, `document.querySelector('a.download').click()`, nil); err != nil {
		t.Fatal(err)
	}
	want := sampleContent().Attachments[0]
	waitFile(t, ctx, filepath.Join(dir, want.Name), want.Data)
}

// waitFile waits for a finished download at path and compares its bytes.
func waitFile(t *testing.T, ctx context.Context, path string, want []byte) {
	t.Helper()
	for {
		data, err := os.ReadFile(path)
		if err == nil && len(data) == len(want) {
			if !bytes.Equal(data, want) {
				t.Fatalf("downloaded bytes differ: %q", data)
			}
			return
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			entries, _ := os.ReadDir(filepath.Dir(path))
			t.Fatalf("no download of %q (folder holds %v)", filepath.Base(path), entries)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func replyWithFile(t *testing.T, ctx context.Context, b *cdp.Browser, sink *smtpsink.Sink) {
	file := filepath.Join(t.TempDir(), "insurance card.png")
	content := []byte("\x89PNG\r\n\x1a\nnot really an image")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.SetFiles(ctx, "#files", file); err != nil {
		t.Fatal(err)
	}
	err := b.Eval(ctx, `document.querySelector('#reply').value = 'Thanks! See my card attached.';
		document.querySelector('#send-reply').click()`, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := sink.Wait(2, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	last := msgs[1]
	if last.Rcpts[0] != "dr.jones@clinic.example" || last.From != "portal@clinic.example" {
		t.Fatalf("reply went %s -> %v", last.From, last.Rcpts)
	}
	if !bytes.Contains(last.Data, []byte("Thanks! See my card attached.")) ||
		!bytes.Contains(last.Data, []byte(base64.StdEncoding.EncodeToString(content))) ||
		!bytes.Contains(last.Data, []byte(`filename="insurance card.png"`)) {
		t.Fatalf("reply lacks text or file:\n%s", last.Data)
	}
}

// smtpSender delivers portal mail over SMTP, as a test stand-in for the
// gateway's queue.
type smtpSender struct{ addr string }

func (s smtpSender) Send(_ context.Context, m Mail) error {
	return smtp.SendMail(s.addr, nil, m.From, m.To, m.Data)
}

// browserSteps gives a browser test its steps on b: must ends the test on
// an error, at waits until the page at path has loaded, and atHeading
// until it has loaded with h1 as its heading.
func browserSteps(t *testing.T, ctx context.Context, b *cdp.Browser) (must func(error), at func(path string), atHeading func(path, h1 string)) {
	must = func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at = func(path string) {
		t.Helper()
		must(b.WaitFor(ctx, fmt.Sprintf("location.pathname === %q && document.readyState === 'complete'", path)))
	}
	atHeading = func(path, h1 string) {
		t.Helper()
		must(b.WaitFor(ctx, fmt.Sprintf("location.pathname === %q && document.readyState === 'complete' && "+
			"document.querySelector('h1') && document.querySelector('h1').textContent === %q", path, h1)))
	}
	return must, at, atHeading
}
