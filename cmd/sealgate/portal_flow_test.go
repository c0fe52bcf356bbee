package main

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/smtpsink"
)

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	codeText  = regexp.MustCompile(`one-time code is (\d{4}) (\d{4})`)
)

// portalClient is a recipient's browser session on the gateway's portal.
type portalClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

// newPortalClient is a fresh browser session on e's portal.
func newPortalClient(t *testing.T, e *env) *portalClient {
	return newPortalClientFrom(t, e, "")
}

// newPortalClientFrom is newPortalClient whose connections come from the
// loopback address src ("" lets the system choose; Linux routes all of
// 127.0.0.0/8 to the loopback device), so the portal counts its requests
// against that client address.
func newPortalClientFrom(t *testing.T, e *env, src string) *portalClient {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool(), ServerName: "gw.example.org"}}
	if src != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
		tr.DialContext = d.DialContext
	}
	return &portalClient{t: t, base: "https://" + e.gw.portal.Addr().String(),
		hc: &http.Client{Timeout: 10 * time.Second, Jar: jar, Transport: tr}}
}

// do sends a request and returns the final page after redirects.
func (c *portalClient) do(req *http.Request) (int, []byte) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *portalClient) get(path string) (int, []byte) {
	req, _ := http.NewRequest("GET", c.base+path, nil)
	return c.do(req)
}

func (c *portalClient) post(path string, page []byte, form url.Values) (int, []byte) {
	c.t.Helper()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		c.t.Fatalf("no CSRF token on the page before %s:\n%s", path, page)
	}
	form.Set("csrf", string(m[1]))
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// A PHI message for a recipient without key, certificate or verified TLS
// travels through the whole gateway: notification at the recipient's
// sink, link opened on the gateway's portal, one-time code mailed through
// the gateway to the same sink, message read, attachment downloaded, and
// the recipient's reply delivered to the original sender's sink.
func TestPortalPickupThroughTheGateway(t *testing.T) {
	t.Parallel()
	e := newProtEnv(t, nil, nil)
	token := e.portalNotice(t, "nobody@bad.example")
	c := newPortalClient(t, e.env)
	status, page := c.get("/m/" + token)
	if status != http.StatusOK {
		t.Fatalf("link: %d", status)
	}
	if status, page = c.post("/code/send", page, url.Values{}); status != http.StatusOK {
		t.Fatalf("send code: %d\n%s", status, page)
	}
	code := waitCode(t, e.bad)
	if status, page = c.post("/code/verify", page, url.Values{"code": {code}}); status != http.StatusOK ||
		!bytes.Contains(page, []byte(protBody)) {
		t.Fatalf("after the code: %d, message not shown:\n%s", status, page)
	}
	want, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(protAttachmentB64, "\r\n", ""))
	if status, file := c.get("/attachment/0"); status != http.StatusOK || len(want) == 0 || !bytes.Equal(file, want) {
		t.Fatalf("attachment: %d, %d bytes, want the %d bytes sent", status, len(file), len(want))
	}
	replyThrough(t, c, page)
	replies, err := e.good.Wait(1, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := replies[len(replies)-1]
	if r.Rcpts[0] != "lab@clinic.example.org" || !r.TLS || !bytes.Contains(r.Data, []byte("Thank you, see you Monday")) {
		t.Fatalf("reply at the sender's sink: to=%v tls=%v", r.Rcpts, r.TLS)
	}
}

// waitCode reads the one-time code from the second message at the sink.
func waitCode(t *testing.T, sink *smtpsink.Sink) string {
	t.Helper()
	msgs, err := sink.Wait(2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := codeText.FindSubmatch(msgs[1].Data)
	if m == nil {
		t.Fatalf("no code in the code mail:\n%s", msgs[1].Data)
	}
	return string(m[1]) + string(m[2])
}

// replyThrough posts a reply with the message page's CSRF token.
func replyThrough(t *testing.T, c *portalClient, page []byte) {
	t.Helper()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the message page")
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", string(m[1]))
	w.WriteField("text", "Thank you, see you Monday")
	w.Close()
	req, _ := http.NewRequest("POST", c.base+"/reply", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if status, page := c.do(req); status != http.StatusOK {
		t.Fatalf("reply: %d\n%s", status, page)
	}
}
