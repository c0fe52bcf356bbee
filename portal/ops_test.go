package portal

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/store"
)

// TestMetricsScrape reads the portal's metrics over HTTP, as Prometheus
// does, after a view and a CSRF failure.
func TestMetricsScrape(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	b.login(tok, "pat@home.example")
	b.post("/logout", url.Values{"csrf": {"forged"}})
	ms := httptest.NewServer(promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{}))
	defer ms.Close()
	resp, err := http.Get(ms.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"sealgate_portal_messages 1", "sealgate_portal_views_total 1", `sealgate_portal_failures_total{kind="csrf"} 1`,
		"sealgate_portal_sessions 1", "sealgate_portal_codes_sent_total 1",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(body), "pat@") || strings.Contains(string(body), "m1") {
		t.Error("metrics carry an address or message ID")
	}
}

func TestReadReceiptOnFirstViewOnly(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ReadReceipts = true })
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	b.login(tok, "pat@home.example")
	b.get("/message")
	var receipts []Mail
	for _, m := range h.out.all() {
		if m.To[0] == "dr.jones@clinic.example" {
			receipts = append(receipts, m)
		}
	}
	if len(receipts) != 1 || !bytes.Contains(receipts[0].Data, []byte("Subject: Read: secure message m1")) {
		t.Fatalf("%d receipts", len(receipts))
	}
	if bytes.Contains(receipts[0].Data, []byte("MRI")) || receipts[0].Sensitive {
		t.Fatal("the receipt carries the subject or is marked as PHI")
	}
}

// TestNothingReadableOnDisk runs a whole pickup with a reply and then
// looks for the message's words in every file of the data folder.
func TestNothingReadableOnDisk(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	p := b.login(tok, "pat@home.example")
	b.reply(p.csrf(), "my reply text", "x.txt", []byte("reply file"))
	var seen int
	filepath.Walk(h.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(path)
		seen++
		for _, secret := range []string{"MRI", "no change", "report bytes", "mri report.pdf", tok} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds %q", filepath.Base(path), secret)
			}
		}
		return nil
	})
	if seen < 2 {
		t.Fatalf("only %d files in the data folder", seen)
	}
}

// TestStartPurgesExpired runs the store's expiry loop for real.
func TestStartPurgesExpired(t *testing.T) {
	master, _ := keywrap.NewMaster(bytes.Repeat([]byte{9}, keywrap.KeySize))
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir(), Master: master, PurgeEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st.Put(ctx, store.Item{ID: "m1", Sender: "a@b.example", Recipient: "c@d.example", Expires: time.Now().Add(50 * time.Millisecond)})
	st.Start(ctx)
	testenv.WaitFor(t, 30*time.Second, "the expired message purged", func() bool {
		m, err := st.Get(ctx, "m1")
		if err != nil {
			t.Fatal(err)
		}
		return !m.Deleted.IsZero()
	})
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOnEventMirrorsAudit(t *testing.T) {
	var mu sync.Mutex
	var kinds []string
	h := newHarness(t, func(o *Options) {
		o.OnEvent = func(e store.Event) { mu.Lock(); kinds = append(kinds, e.Kind); mu.Unlock() }
	})
	tok := h.put("m1", "pat@home.example", sampleContent())
	h.browser().login(tok, "pat@home.example")
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(kinds, ",") != "code_sent,login,view" {
		t.Fatalf("mirrored %v", kinds)
	}
}

func TestAttachmentDispositionAlwaysAttachment(t *testing.T) {
	for _, name := range []string{"report.pdf", "résumé.pdf", "a\x00b\r\n.html", "", strings.Repeat("x", 300)} {
		if d := attachmentDisposition(name); !strings.HasPrefix(d, "attachment;") {
			t.Errorf("%q gives %q", name, d)
		}
	}
}
