package portal

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/i18n"
	"github.com/sealgate/sealgate/store"
	"github.com/sealgate/sealgate/unsubscribe"
)

// storeUnsubscriber verifies tokens with real keys and suppresses in the
// harness's store (set once the harness has opened it).
type storeUnsubscriber struct {
	tk *unsubscribe.Tokens
	st *store.Store
}

func (u *storeUnsubscriber) Open(token string) (string, string, error) { return u.tk.Open(token) }

func (u *storeUnsubscriber) Unsubscribe(ctx context.Context, domain, address, _ string) error {
	return u.st.Suppress(ctx, store.Suppression{Domain: domain, Address: address, Reason: store.ReasonUnsubscribe})
}

// TestBrowserUnsubscribe opens a one-click unsubscribe link in headless
// Chromium in English and Spanish: the confirmation page passes axe-core's
// WCAG 2.2 A/AA rules at phone and desktop size without scrolling sideways
// on the phone, opening it suppresses nothing, and its button does.
func TestBrowserUnsubscribe(t *testing.T) {
	axe := loadAxe(t)
	for _, c := range []struct{ lang, accept string }{{"en", "en-US,en;q=0.9"}, {"es", "es-MX,es;q=0.9"}} {
		t.Run(c.lang, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			tk, err := unsubscribe.NewTokens(bytes.Repeat([]byte{9}, unsubscribe.KeySize))
			if err != nil {
				t.Fatal(err)
			}
			unsub := &storeUnsubscriber{tk: tk}
			h := newHarness(t, func(o *Options) {
				clinic(o)
				o.Listen, o.TLS, o.Unsubscribe = "127.0.0.1:0", tlsConfig(t), unsub
			})
			unsub.st = h.st
			if err := h.srv.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.srv.Close(context.Background()) })
			w := &pageWalk{t: t, ctx: ctx, b: chromium(t, ctx), axe: axe, shots: artifacts(t), lang: c.lang}
			w.must(w.b.Call(ctx, "Network.enable", nil, nil))
			w.must(w.b.Call(ctx, "Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Accept-Language": c.accept}}, nil))
			tr := i18n.Get(c.lang).T
			path := "/u/" + tk.Make("news.clinic.example", "pat@home.example")
			w.must(w.b.Navigate(ctx, "https://"+h.srv.Addr().String()+path))
			w.at(path, tr("unsub.title"), "unsubscribe")
			var text string
			w.must(w.b.Eval(ctx, `document.querySelector('main p').textContent`, &text))
			if want := tr("unsub.text", "pat@home.example", "news.clinic.example"); strings.TrimSpace(text) != want {
				t.Errorf("page says %q, want %q", text, want)
			}
			if got, err := h.st.Suppressed(ctx, "news.clinic.example", "pat@home.example"); got || err != nil {
				t.Fatalf("opening the page suppressed the address (or the store failed: %v)", err)
			}
			w.eval(`document.querySelector('#unsubscribe').click()`)
			w.at(path, tr("unsub.done.title"), "unsubscribed")
			if got, err := h.st.Suppressed(ctx, "news.clinic.example", "pat@home.example"); !got || err != nil {
				t.Fatalf("after the button: suppressed=%v %v", got, err)
			}
			if w.n != 2 {
				t.Fatal(fmt.Sprintf("checked %d pages, want 2", w.n))
			}
		})
	}
}
