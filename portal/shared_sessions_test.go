package portal

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/pgtest"
)

// TestSharedSessionsAcrossNodes: with sessions in the store, a visitor
// who proved the code on one node reads and replies on another; the idle
// timeout and CSRF hold there too, and the stored sessions are wrapped by the master key.
func TestSharedSessionsAcrossNodes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSharedSessions(t, "sqlite") })
	t.Run("postgres", func(t *testing.T) { testSharedSessions(t, pgtest.URL(t)) })
}

func testSharedSessions(t *testing.T, backend string) {
	h := newHarnessOn(t, backend, func(o *Options) { o.SharedSessions = true })
	ts2 := h.secondNode()

	tok := h.put("m1", "pat@home.example", sampleContent())
	b := h.browser()
	p := b.login(tok, "pat@home.example")
	if p.url != "/message" {
		t.Fatalf("node 1: %s", p.url)
	}
	b.base = ts2.URL
	p = b.get("/message")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Your MRI report") {
		t.Fatalf("node 2 does not know the session: %d", p.status)
	}
	if r := b.post("/logout", url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
		t.Fatalf("node 2 took a forged form: %d", r.status)
	}
	if r := b.reply(p.csrf(), "from node two", "n.txt", []byte("n2")); r.status != http.StatusOK {
		t.Fatalf("reply on node 2: %d", r.status)
	}
	if backend == "sqlite" {
		checkWrappedSessions(t, h.dir, p.csrf())
	}
	h.clk.Add(16 * time.Minute)
	if p := b.get("/message"); p.status != http.StatusUnauthorized {
		t.Fatalf("idle session on node 2: %d", p.status)
	}
	b.base = h.ts.URL
	if p := b.get("/message"); p.status != http.StatusUnauthorized {
		t.Fatalf("idle session on node 1: %d", p.status)
	}
}

func checkWrappedSessions(t *testing.T, dir, csrf string) {
	t.Helper()
	var all []byte
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		return nil
	})
	if bytes.Contains(all, []byte(csrf)) || bytes.Contains(all, []byte(`"csrf":"`)) {
		t.Fatal("a session is stored in the clear")
	}
}
