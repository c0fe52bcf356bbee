package portal

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/store"
)

// outbox records the mail the portal hands to the gateway.
type outbox struct {
	mu    sync.Mutex
	mails []Mail
	drain func() // waits for mail the server sends in the background
}

func (o *outbox) Send(_ context.Context, m Mail) error {
	o.mu.Lock()
	o.mails = append(o.mails, m)
	o.mu.Unlock()
	return nil
}

func (o *outbox) all() []Mail {
	if o.drain != nil {
		o.drain()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Mail(nil), o.mails...)
}

var codeRE = regexp.MustCompile(`one-time code is (\d{4}) (\d{4})`)

// lastCode is the newest code mailed to addr, or "".
func (o *outbox) lastCode(addr string) string {
	ms := o.all()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].To[0] == addr {
			if m := codeRE.FindSubmatch(ms[i].Data); m != nil {
				return string(m[1]) + string(m[2])
			}
		}
	}
	return ""
}

type harness struct {
	t    *testing.T
	st   *store.Store
	srv  *Server
	ts   *httptest.Server
	out  *outbox
	clk  *testenv.Clock
	reg  *prometheus.Registry
	dir  string // the store's data folder
	opts Options
}

func newHarness(t *testing.T, tune func(*Options)) *harness {
	t.Helper()
	return newHarnessOn(t, "sqlite", tune)
}

// newHarnessOn uses the store backend ("sqlite" or a postgres:// URL).
func newHarnessOn(t *testing.T, backend string, tune func(*Options)) *harness {
	t.Helper()
	clk := testenv.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	master, err := keywrap.NewMaster(bytes.Repeat([]byte{3}, keywrap.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{Backend: backend, Dir: dir, Master: master, TTL: 72 * time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	h := &harness{t: t, st: st, out: &outbox{}, clk: clk, reg: prometheus.NewRegistry(), dir: dir}
	opts := Options{
		Store: st, Master: master, Sender: h.out, From: "portal@clinic.example",
		SessionIdle: 15 * time.Minute, CodeTTL: 10 * time.Minute, MaxCodeAttempts: 3,
		Branding:   Branding{Organization: "Example Clinic", Color: "#00695c", Support: "Call 555-0100"},
		Registerer: h.reg, Now: clk.Now,
	}
	if tune != nil {
		tune(&opts)
	}
	h.opts = opts
	h.srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.out.drain = func() { h.srv.drain(context.Background()) }
	h.ts = httptest.NewTLSServer(h.srv.Handler())
	t.Cleanup(h.ts.Close)
	return h
}

func (h *harness) put(id, rcpt string, c store.Content) string {
	h.t.Helper()
	tok, err := h.st.Put(context.Background(), store.Item{ID: id, Sender: "dr.jones@clinic.example", Recipient: rcpt, Content: c})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// browser is one visitor with its own cookie jar.
type browser struct {
	h    *harness
	c    *http.Client
	base string // the node this browser talks to
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *h.ts.Client() // a copy: the test server hands out one shared client
	c.Jar = jar
	return &browser{h: h, c: &c, base: h.ts.URL}
}

// page is a response read in full.
type page struct {
	status int
	body   string
	header http.Header
	url    string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// text is the body without its random form token, for checking that
// short words are absent: 43 random base64url characters spell a given
// three-letter word about once in 6,000 pages.
func (p page) text() string {
	if tok := p.csrf(); tok != "" {
		return strings.ReplaceAll(p.body, tok, "")
	}
	return p.body
}

func (p page) csrf() string {
	if m := csrfRE.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return ""
}

func (b *browser) do(req *http.Request) page {
	b.h.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(body), header: resp.Header, url: resp.Request.URL.Path}
}

func (b *browser) get(path string) page {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// start follows a link and asks for a code; it returns the code page.
func (b *browser) start(token string) page {
	b.h.t.Helper()
	p := b.get("/p/" + token)
	if p.url != "/pickup" || p.csrf() == "" {
		b.h.t.Fatalf("link led to %s (%d) without a form", p.url, p.status)
	}
	return b.post("/code/send", url.Values{"csrf": {p.csrf()}})
}

// login follows a link, gets the mailed code and enters it.
func (b *browser) login(token, rcpt string) page {
	b.h.t.Helper()
	p := b.start(token)
	code := b.h.out.lastCode(rcpt)
	if code == "" {
		b.h.t.Fatal("no code was mailed")
	}
	return b.post("/code/verify", url.Values{"csrf": {p.csrf()}, "code": {code}})
}

func sampleContent() store.Content {
	return store.Content{
		Subject: "Your MRI report", Text: "The scan shows no change since March.",
		HTML: `<p>The scan shows <b>no change</b>.</p><script>alert("x")</script>` +
			`<img src="https://tracker.example/pixel.gif"><a href="javascript:alert(1)">details</a>`,
		Attachments: []store.Attachment{{Name: "mri report.pdf", Type: "application/pdf", Data: []byte("%PDF-1.7\nreport bytes\x00\x01")}},
	}
}

// secondNode serves another portal node with h's options, so on h's store,
// until the test ends: what one node stored, the other must read.
func (h *harness) secondNode() *httptest.Server {
	h.t.Helper()
	opts := h.opts
	opts.Registerer = nil
	node, err := New(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	ts := httptest.NewTLSServer(node.Handler())
	h.t.Cleanup(ts.Close)
	return ts
}
