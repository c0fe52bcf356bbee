package main

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/encrypt"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/portal/box"
)

// recordCourier stands in for delivery: it keeps what would leave.
type recordCourier struct {
	mu sync.Mutex
	ds []*mail.Delivery
}

func (r *recordCourier) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
	var out []mail.Outcome
	for _, rc := range d.Rcpts {
		out = append(out, mail.Outcome{Rcpt: rc.Addr})
	}
	return out
}

const pickupMessage = "From: dr@clinic.example\r\nTo: pat@home.example\r\nSubject: Biopsy result\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe biopsy was benign.\r\n" +
	"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=biopsy.pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcKYmlvcHN5\r\n--b--\r\n"

// TestEncryptorToPortalPickup: the encryption layer leaves a message with
// PHI in the portal store for a recipient without keys; its notification
// link opens the message in the portal after the emailed code.
func TestEncryptorToPortalPickup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := config.Default(t.TempDir())
	cfg.Portal.Listen = "127.0.0.1:0"
	q := &fakeQueue{}
	st, base := servePortal(t, cfg, q)
	notices := &fakeQueue{}
	c, err := encrypt.New(encrypt.Config{Order: []string{encrypt.MethodPortal}, Portal: box.New(st), Next: &recordCourier{},
		Notices: notices, Notice: encrypt.Notice{BaseURL: base, Organization: "Example Clinic", Hostname: "mx.clinic.example"}})
	if err != nil {
		t.Fatal(err)
	}
	out := c.Deliver(ctx, &mail.Delivery{QueueID: "Q123", From: "dr@clinic.example", Domain: "home.example",
		Rcpts: []mail.Rcpt{{Addr: "pat@home.example"}}, Body: []byte(pickupMessage),
		Policy: mail.PolicySummary{PHI: true, Action: "encrypt"}})
	if len(out) != 1 || out[0].Err != nil {
		t.Fatalf("hand-off: %+v", out)
	}
	g, body := notices.last()
	if g == nil || g.Origin != mail.OriginPortalNotice {
		t.Fatalf("spooled notification %+v", g)
	}
	notice := string(body)
	if strings.Contains(notice, "biopsy") || strings.Contains(notice, "Biopsy") {
		t.Fatal("the notification carries the message")
	}
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/m/[A-Za-z0-9_-]+`).FindString(strings.ReplaceAll(notice, "=\r\n", ""))
	if link == "" {
		t.Fatalf("no portal link in the notification:\n%s", notice)
	}
	page := pickupByLink(t, base, link, q)
	if !strings.Contains(page, "The biopsy was benign.") || !strings.Contains(page, "Biopsy result") || !strings.Contains(page, "biopsy.pdf") {
		t.Fatalf("message page:\n%s", page)
	}
	list, _ := st.List(ctx)
	if len(list) != 1 || !strings.HasPrefix(list[0].ID, "Q123.") || list[0].Views != 1 {
		t.Fatalf("store holds %+v", list)
	}
}

// pickupByLink follows a link, asks for a code, takes it from the queue
// and enters it; it returns the message page.
func pickupByLink(t *testing.T, base, link string, q *fakeQueue) string {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	body := fetch(t, c, "GET", link, nil)
	body = fetch(t, c, "POST", base+"/code/send", url.Values{"csrf": {csrfOf(t, body)}})
	_, data := q.waitLast(t)
	m := regexp.MustCompile(`code is (\d{4}) (\d{4})`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("no code mailed: %s", data)
	}
	body = fetch(t, c, "POST", base+"/code/verify", url.Values{"csrf": {csrfOf(t, body)}, "code": {string(m[1]) + string(m[2])}})
	resp, err := c.Get(base + "/attachment/0")
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(pdf) != "%PDF-1.7\nbiopsy" || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("attachment %q %q", pdf, resp.Header.Get("Content-Type"))
	}
	return body
}
