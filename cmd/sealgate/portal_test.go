package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/store"
)

func portalCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"portal"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPortalCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte("data_dir: "+dir+"\nlisteners: [{name: l, address: \"127.0.0.1:2999\", tls: none, auth: none}]\nclients: [{name: c, networks: [127.0.0.1], allowed_senders: \"*\"}]\nencryption: {order: [tls]}\n"), 0o600)
	cfg, err := loadConfig(findConfig(path))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, _, err := openPortalStore(ctx, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"Q1.aa", "Q2.bb"} {
		if _, err := st.Put(ctx, store.Item{ID: id, Sender: "dr@clinic.example", Recipient: "pat@home.example",
			Content: store.Content{Subject: "SECRET-SUBJECT", Text: "SECRET-BODY"}}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close(ctx)

	code, out, errs := portalCLI("--config", path, "list")
	if code != 0 || !strings.Contains(out, "Q1.aa") || !strings.Contains(out, "Q2.bb") || strings.Count(out, "live") != 2 {
		t.Fatalf("list: %d %q %q", code, out, errs)
	}
	if code, out, _ = portalCLI("--config", path, "revoke", "Q1.aa"); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %q", code, out)
	}
	if code, _, errs = portalCLI("--config", path, "revoke", "Q9.zz"); code != 1 || !strings.Contains(errs, "no such message") {
		t.Fatalf("revoke unknown: %d %q", code, errs)
	}
	_, out, _ = portalCLI("--config", path, "list")
	if !regexp.MustCompile(`Q1\.aa\s+revoked`).MatchString(out) {
		t.Fatalf("list after revoke: %q", out)
	}
	code, out, _ = portalCLI("--config", path, "--json", "audit", "Q1.aa")
	if code != 0 || !strings.Contains(out, `"kind":"created"`) || !strings.Contains(out, `"kind":"revoke"`) || !strings.Contains(out, `"actor":"operator`) {
		t.Fatalf("audit: %d %q", code, out)
	}
	if code, out, _ = portalCLI("--config", path, "purge"); code != 0 || !strings.Contains(out, "purged 0") {
		t.Fatalf("purge: %d %q", code, out)
	}
	if code, _, _ = portalCLI("--config", path); code != 2 {
		t.Fatalf("no subcommand: %d", code)
	}
	if code, _, _ = portalCLI("--config", path, "frobnicate"); code != 2 {
		t.Fatalf("unknown subcommand: %d", code)
	}
	for _, args := range [][]string{{"list"}, {"--json", "list"}, {"audit", "Q2.bb"}} {
		_, out, _ := portalCLI(append([]string{"--config", path}, args...)...)
		if strings.Contains(out, "SECRET") {
			t.Fatalf("%v shows message content: %q", args, out)
		}
	}
	// Revoke and purge are in the gateway's audit log with the local user.
	acts := map[string]string{}
	for _, ev := range auditEvents(t, filepath.Join(dir, "audit.log")) {
		if op, _ := ev["operator"].(string); strings.HasPrefix(op, fmt.Sprintf("uid=%d", os.Getuid())) {
			id, _ := ev["portal_id"].(string)
			acts[ev["action"].(string)+" "+id] = ev["result"].(string)
		}
	}
	for k, v := range map[string]string{"portal-revoke Q1.aa": "ok", "portal-revoke Q9.zz": "failed", "portal-purge ": "ok"} {
		if acts[k] != v {
			t.Errorf("audit: %q recorded %q, want %q (all: %v)", k, acts[k], v, acts)
		}
	}
}

// fakeQueue records what the portal submits.
type fakeQueue struct {
	mu  sync.Mutex
	got []mail.Generated
}

func (f *fakeQueue) Submit(_ context.Context, g mail.Generated) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, g)
	return "id", nil
}

func (f *fakeQueue) last() (*mail.Generated, []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		return nil, nil
	}
	g := f.got[len(f.got)-1]
	return &g, g.Body
}

// waitLast waits, bounded, until the portal has submitted a message (it
// sends in the background) and returns the last one.
func (f *fakeQueue) waitLast(t *testing.T) (*mail.Generated, []byte) {
	t.Helper()
	var g *mail.Generated
	var data []byte
	testenv.WaitFor(t, 30*time.Second, "the portal to submit its mail", func() bool {
		g, data = f.last()
		return g != nil
	})
	return g, data
}

// TestPortalServesThroughQueue wires the portal as serve would: codes are
// submitted as ordinary generated mail, replies as sensitive (PHI).
func TestPortalServesThroughQueue(t *testing.T) {
	t.Parallel()
	cfg := config.Default(t.TempDir())
	cfg.Portal.Listen = "127.0.0.1:0"
	ctx := context.Background()
	q := &fakeQueue{}
	st, base := servePortal(t, cfg, q)
	tok, _ := st.Put(ctx, store.Item{ID: "Q1.aa", Sender: "dr@clinic.example", Recipient: "pat@home.example",
		Content: store.Content{Subject: "Results", Text: "All normal."}})

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	body := fetch(t, c, "GET", base+"/m/"+tok, nil)
	body = fetch(t, c, "POST", base+"/code/send", url.Values{"csrf": {csrfOf(t, body)}})
	env, data := q.waitLast(t)
	if env.Origin != mail.OriginPortal || env.Sensitive || env.To[0] != "pat@home.example" {
		t.Fatalf("code mail %+v", env)
	}
	code := regexp.MustCompile(`code is (\d{4}) (\d{4})`).FindSubmatch(data)
	if code == nil {
		t.Fatalf("no code in %s", data)
	}
	body = fetch(t, c, "POST", base+"/code/verify", url.Values{"csrf": {csrfOf(t, body)}, "code": {string(code[1]) + string(code[2])}})
	if !strings.Contains(body, "All normal.") {
		t.Fatalf("message page: %s", body)
	}
	// A reply: multipart form.
	_ = fetchReply(t, c, base, csrfOf(t, body), "Thanks")
	env, _ = q.last()
	if env.Origin != mail.OriginPortalReply || !env.Sensitive || env.To[0] != "dr@clinic.example" {
		t.Fatalf("reply %+v", env)
	}
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) string {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, rd)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func fetchReply(t *testing.T, c *http.Client, base, csrf, text string) string {
	t.Helper()
	b := "--x\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + csrf +
		"\r\n--x\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n" + text + "\r\n--x--\r\n"
	req, _ := http.NewRequest("POST", base+"/reply", strings.NewReader(b))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reply %d: %s", resp.StatusCode, out)
	}
	return string(out)
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form token in %s", page)
	}
	return m[1]
}

// servePortal opens cfg's portal store and serves the portal on
// cfg.Portal.Listen, its mail going to q: the store and the portal's base
// URL, both closed when the test ends.
func servePortal(t *testing.T, cfg *config.Config, q mail.Submitter) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	st, master, err := openPortalStore(ctx, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })
	srv, err := startPortal(ctx, cfg, st, master, q, nil, nil, nil, nil, nil)
	if err != nil || srv == nil {
		t.Fatalf("start portal: %v", err)
	}
	t.Cleanup(func() { srv.Close(ctx) })
	return st, "https://" + srv.Addr().String()
}
