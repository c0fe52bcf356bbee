package portal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/store"
)

// browserFrom is a visitor whose connections come from the loopback
// address src (Linux routes all of 127.0.0.0/8 to the loopback device),
// so the portal sees one client address or another.
func (h *harness) browserFrom(src string) *browser {
	b := h.browser()
	tr := h.ts.Client().Transport.(*http.Transport).Clone()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	tr.DialContext = d.DialContext
	b.c.Transport = tr
	b.c.Timeout = 30 * time.Second
	return b
}

func madeUpToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestFloodOfMadeUpLinks: thousands of made-up links from one address
// make no session and mostly get 429; meanwhile a patient at another
// address opens a real link, gets the code and reads the message.
func TestFloodOfMadeUpLinks(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	const total, workers = 3000, 8
	deadline := time.Now().Add(2 * time.Minute)
	attacker := h.browserFrom("127.0.0.1")
	attacker.c.Jar = nil
	attacker.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var next, seeOther, limited, other, badRetry atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= total && time.Now().Before(deadline) {
				p := attacker.get("/m/" + madeUpToken())
				switch p.status {
				case http.StatusSeeOther:
					seeOther.Add(1)
				case http.StatusTooManyRequests:
					limited.Add(1)
					if n, err := strconv.Atoi(p.header.Get("Retry-After")); err != nil || n < 1 {
						badRetry.Add(1)
					}
				default:
					other.Add(1)
				}
			}
		}()
	}
	// The patient, from another network, while the flood runs.
	patient := h.browserFrom("127.0.1.7")
	p := patient.login(tok, "pat@home.example")
	wg.Wait()
	if p.url != "/message" || !strings.Contains(p.body, "Your MRI report") {
		t.Fatalf("the patient did not get the message during the flood: %s %d", p.url, p.status)
	}
	sent := seeOther.Load() + limited.Load() + other.Load()
	t.Logf("flood: %d made-up links from one address: %d redirected (decoys), %d answered 429, %d other; sessions %d",
		sent, seeOther.Load(), limited.Load(), other.Load(), h.srv.sessions.count())
	if sent < total/2 {
		t.Fatalf("only %d requests within the time bound", sent)
	}
	if seeOther.Load() > int64(h.srv.opts.MaxLinksPerClient) || other.Load() != 0 || badRetry.Load() != 0 {
		t.Fatalf("flood answers: %d redirected (limit %d), %d other, %d 429 without Retry-After",
			seeOther.Load(), h.srv.opts.MaxLinksPerClient, other.Load(), badRetry.Load())
	}
	if n := h.srv.sessions.count(); n != 1 {
		t.Fatalf("%d sessions after the flood, want only the patient's", n)
	}
	if v := testutil.ToFloat64(h.srv.metrics.failures.WithLabelValues(failLimited)); v != float64(limited.Load()) {
		t.Errorf("rate_limited failures %v, want %d", v, limited.Load())
	}
}

// TestNetworkLimit: addresses spread over one /24 share its budget;
// another /24 is served.
func TestNetworkLimit(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxLinksPerClient = 4 }) // 20 per /24
	served := 0
	for i := 1; i <= 10; i++ {
		b := h.browserFrom("127.0.2." + strconv.Itoa(i))
		for range 4 {
			if b.get("/m/"+madeUpToken()).url == "/pickup" {
				served++
			}
		}
	}
	if served != 20 {
		t.Fatalf("%d link opens served from one /24, want 20", served)
	}
	if p := h.browserFrom("127.0.3.1").get("/m/" + madeUpToken()); p.url != "/pickup" {
		t.Fatalf("another network was refused: %d", p.status)
	}
}

// TestTooManyRequestsRetryAfter: past the per-minute budget every
// endpoint answers 429 with Retry-After, until the window ends.
func TestTooManyRequestsRetryAfter(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxRequestsPerClient = 5 })
	b := h.browser()
	h.clk.Add(20 * time.Second) // the window starts here and ends 60 s later
	for i := range 5 {
		if p := b.get("/"); p.status != http.StatusOK {
			t.Fatalf("request %d: %d", i, p.status)
		}
	}
	h.clk.Add(20 * time.Second)
	for _, path := range []string{"/", "/static/style.css", "/m/" + madeUpToken(), "/pickup"} {
		p := b.get(path)
		if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "40" {
			t.Fatalf("%s over the limit: %d Retry-After %q", path, p.status, p.header.Get("Retry-After"))
		}
	}
	h.clk.Add(40 * time.Second)
	if p := b.get("/"); p.status != http.StatusOK {
		t.Fatalf("after Retry-After: %d", p.status)
	}
}

// TestLimitsSharedAcrossNodes: two portal nodes on one store count one
// client together.
func TestLimitsSharedAcrossNodes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSharedLimits(t, "sqlite") })
	t.Run("postgres", func(t *testing.T) { testSharedLimits(t, pgtest.URL(t)) })
}

func testSharedLimits(t *testing.T, backend string) {
	h := newHarnessOn(t, backend, func(o *Options) { o.SharedSessions, o.MaxLinksPerClient = true, 4 })
	opts := h.opts
	opts.Registerer = nil
	node2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts2 := httptest.NewTLSServer(node2.Handler())
	defer ts2.Close()
	b := h.browser()
	for i := range 4 {
		if i%2 == 1 {
			b.base = ts2.URL
		} else {
			b.base = h.ts.URL
		}
		if p := b.get("/m/" + madeUpToken()); p.url != "/pickup" {
			t.Fatalf("open %d: %d", i, p.status)
		}
	}
	for _, base := range []string{h.ts.URL, ts2.URL} {
		b.base = base
		if p := b.get("/m/" + madeUpToken()); p.status != http.StatusTooManyRequests {
			t.Fatalf("fifth open on %s: %d", base, p.status)
		}
	}
	if n := h.srv.sessions.count(); n != 0 {
		t.Fatalf("made-up links left %d shared sessions", n)
	}
}

// TestAuditFailureRefusesContent: when the audit record of a view or
// download cannot be written, the content is not served.
func TestAuditFailureRefusesContent(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	var events []string
	h.srv.opts.OnEvent = func(e store.Event) { events = append(events, e.Kind) }
	b := h.browser()
	if p := b.login(tok, "pat@home.example"); p.url != "/message" {
		t.Fatalf("login: %s", p.url)
	}
	events = nil
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.dir, "portal.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TRIGGER audit_full BEFORE INSERT ON portal_audit BEGIN SELECT RAISE(FAIL, 'disk full'); END`)
	m := b.get("/message")
	a := b.get("/attachment/0")
	for _, p := range []page{m, a} {
		if p.status != http.StatusServiceUnavailable || strings.Contains(p.body, "MRI") ||
			strings.Contains(p.body, "no change") || strings.Contains(p.body, "report bytes") {
			t.Fatalf("content served without its audit record: %d\n%s", p.status, p.body)
		}
	}
	if len(events) != 0 {
		t.Fatalf("events %v mirrored for content that was refused", events)
	}
	if v := testutil.ToFloat64(h.srv.metrics.failures.WithLabelValues(failAudit)); v != 2 {
		t.Errorf("audit failures %v, want 2", v)
	}
	exec(`DROP TRIGGER audit_full`)
	if p := b.get("/message"); p.status != http.StatusOK || !strings.Contains(p.body, "Your MRI report") {
		t.Fatalf("after the store recovered: %d", p.status)
	}
	wantAudit(t, h, "m1", store.EventCreated, store.EventCodeSent, store.EventLogin, store.EventView, store.EventView)
}

// TestStoreDownRefuses: when the store cannot count a request, it is
// refused, not served unlimited.
func TestStoreDownRefuses(t *testing.T) {
	h := newHarness(t, nil)
	h.st.Close(context.Background())
	if p := h.browser().get("/m/" + madeUpToken()); p.status != http.StatusServiceUnavailable {
		t.Fatalf("store closed: %d", p.status)
	}
}
