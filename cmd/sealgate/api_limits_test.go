package main

import (
	"bytes"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/sys/unix"

	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

func apiMessage(to string) map[string]any {
	return map[string]any{"from": "news@news.example.org", "to": []string{to}, "subject": "s", "text": "t"}
}

// checkRetryLater: a 429 or 503 answer is JSON with the code and a
// message, and says when to come back.
func checkRetryLater(t *testing.T, what string, status int, body map[string]any, hdr http.Header, wantStatus int, codes ...string) {
	t.Helper()
	msg, _ := body["error"].(map[string]any)["message"].(string)
	code := errCode(body)
	known := false
	for _, c := range codes {
		known = known || c == code
	}
	if status != wantStatus || !known || msg == "" || hdr.Get("Retry-After") == "" || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("%s: %d %v (Retry-After %q), want %d with one of %v", what, status, body, hdr.Get("Retry-After"), wantStatus, codes)
	}
}

// TestAPIRateLimited: past limits.messages_per_client_per_minute the API
// answers 429 rate_limited, and queues nothing more.
func TestAPIRateLimited(t *testing.T) {
	t.Parallel()
	a := newAPIEnvWith(t, envOpts{}, ", messages_per_client_per_minute: 2")
	for i := range 2 {
		if code, body, _ := a.post(t, apiMessage("pat@example.net")); code != 202 {
			t.Fatalf("message %d: %d %v", i, code, body)
		}
	}
	code, body, hdr := a.post(t, apiMessage("pat@example.net"))
	checkRetryLater(t, "third message in the minute", code, body, hdr, 429, "rate_limited")
	if _, err := a.sink.Wait(2, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "the queue to empty", func() bool { return len(a.gw.queue.List()) == 0 })
	if n := len(a.sink.Messages()); n != 2 {
		t.Fatalf("%d messages delivered, want 2", n)
	}
}

// TestAPIConcurrencyLimited: with limits.max_connections_per_client 1, a
// second request from the same address while the first is still being
// sent is answered 429 concurrency_limited; once the first is answered,
// the next is taken.
func TestAPIConcurrencyLimited(t *testing.T) {
	t.Parallel()
	a := newAPIEnvWith(t, envOpts{}, ", max_connections_per_client: 1")
	body, _ := json.Marshal(apiMessage("slow@example.net"))
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", a.url+"/v1/messages", pr)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.ContentLength = int64(len(body))
	slow := make(chan int, 1)
	go func() {
		resp, err := a.http.Do(req)
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	pw.Write(body[:10]) // the request is under way, its body not all there
	testenv.WaitForState(t, 30*time.Second, "a second request while the first is in flight refused", func() (bool, string) {
		code, b, hdr := a.post(t, apiMessage("pat@example.net"))
		if code == 429 {
			checkRetryLater(t, "second request at once", code, b, hdr, 429, "concurrency_limited")
		}
		return code == 429, fmt.Sprint(code, " ", b)
	})
	pw.Write(body[10:])
	pw.Close()
	if code := <-slow; code != 202 {
		t.Fatalf("the slow request: %d", code)
	}
	if code, b, _ := a.post(t, apiMessage("pat@example.net")); code != 202 {
		t.Fatalf("after the first was answered: %d %v", code, b)
	}
}

// TestAPIUnavailable: on a data folder that is full the API answers 503
// insufficient_storage with a JSON error and a Retry-After; it takes mail
// again once there is room.
func TestAPIUnavailable(t *testing.T) {
	t.Parallel()
	a := newAPIEnvWith(t, envOpts{extra: "queue: {min_free: 1MiB}\n", before: func(data string) {
		if err := os.MkdirAll(data, 0o700); err != nil {
			t.Fatal(err)
		}
		mountTmpfs(t, data, fullDiskSize)
	}}, "")
	data := a.cfg.DataDir
	filler := fillDisk(t, data)
	code, body, hdr := a.post(t, apiMessage("pat@example.net"))
	checkRetryLater(t, "full data folder", code, body, hdr, 503, "insufficient_storage")
	os.Remove(filler)
	if code, body, _ := a.post(t, apiMessage("pat@example.net")); code != 202 {
		t.Fatalf("space again: %d %v", code, body)
	}
}

// TestAPIStoreDown: with the shared store on PostgreSQL and the database
// refusing connections (its sessions ended, new ones not allowed), sending
// and reading a status are answered 503 unavailable; once the database
// takes connections again, so does the API.
func TestAPIStoreDown(t *testing.T) {
	t.Parallel()
	server := pgtest.Server(t)
	dbURL := pgtest.NewDB(t, server)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	a := newAPIEnvWith(t, envOpts{extra: fmt.Sprintf("store: {url: %q}\n", dbURL)}, "")
	code, body, _ := a.post(t, apiMessage("pat@example.net"))
	id, _ := body["id"].(string)
	if code != 202 || id == "" {
		t.Fatalf("with the store up: %d %v", code, body)
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	allow := func(on bool) {
		t.Helper()
		if _, err := admin.Exec(fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", name, on)); err != nil {
			t.Fatal(err)
		}
	}
	allow(false)
	t.Cleanup(func() { admin.Exec(fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS true", name)) })
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
		t.Fatal(err)
	}
	code, body, hdr := a.post(t, apiMessage("pat@example.net"))
	checkRetryLater(t, "store down, send", code, body, hdr, 503, "unavailable")
	code, body, hdr = a.do(t, "GET", "/v1/messages/"+id, "", a.key, nil)
	checkRetryLater(t, "store down, status", code, body, hdr, 503, "unavailable")
	allow(true)
	// A pooled connection the database ended while it was down may fail
	// one more request (503, retry later); the API must take mail again
	// within a few retries, as a client honouring Retry-After would.
	var last int
	var lastBody map[string]any
	testenv.WaitFor(t, 20*time.Second, "the API to take mail again with the store up", func() bool {
		last, lastBody, _ = a.post(t, apiMessage("pat@example.net"))
		if last != 202 && last != 503 {
			t.Fatalf("store up again: %d %v", last, lastBody)
		}
		return last == 202
	})
}

// TestAPIStatusLastReply: a recipient's status carries the last reply's
// code and enhanced code — 250 for the one delivered, 451 4.2.2 for the
// one deferred — and never the remote server's text.
func TestAPIStatusLastReply(t *testing.T) {
	t.Parallel()
	a := newAPIEnvWith(t, envOpts{retry: "[1h]", sink: smtpsink.Options{RcptReply: func(rcpt string) *smtp.SMTPError {
		if rcpt == "full@example.net" {
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox of Jane Roe is full"}
		}
		return nil
	}}}, "")
	m := apiMessage("pat@example.net")
	m["to"] = []string{"pat@example.net", "full@example.net"}
	code, body, _ := a.post(t, m)
	id, _ := body["id"].(string)
	if code != 202 || id == "" {
		t.Fatalf("send: %d %v", code, body)
	}
	var raw []byte
	var st struct {
		Recipients []map[string]any `json:"recipients"`
	}
	testenv.WaitForState(t, 30*time.Second, "one recipient delivered and one deferred", func() (bool, string) {
		raw = a.get(t, "/v1/messages/"+id)
		st.Recipients = nil
		json.Unmarshal(raw, &st)
		return len(st.Recipients) == 2 && st.Recipients[0]["status"] == "delivered" && st.Recipients[1]["status"] == "deferred", string(raw)
	})
	pat, full := st.Recipients[0], st.Recipients[1]
	if pat["code"] != 250.0 || !strings.HasPrefix(pat["enhanced_code"].(string), "2.") {
		t.Errorf("delivered recipient: %v", pat)
	}
	if full["code"] != 452.0 || full["enhanced_code"] != "4.2.2" || full["attempts"] != 1.0 {
		t.Errorf("deferred recipient: %v", full)
	}
	if bytes.Contains(raw, []byte("Jane")) || bytes.Contains(raw, []byte("full\"")) || bytes.Contains(raw, []byte("Mailbox")) {
		t.Errorf("the status carries the remote text: %s", raw)
	}
}

// get returns the raw body of a GET with the env's key; it must be 200.
func (a *apiEnv) get(t *testing.T, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", a.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.key)
	resp, err := a.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

// TestAPIAnswers503WhileDataFolderReadOnly: the built gateway started on a
// read-only data folder stands by; its HTTP API answers 503 unavailable
// (JSON, Retry-After) instead of refusing connections, and takes the same
// request once the folder can be written again.
func TestAPIAnswers503WhileDataFolderReadOnly(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs the built binary on a tmpfs; skipped with -short")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, data, 16<<20)
	t.Cleanup(func() { unix.Mount("tmpfs", data, "tmpfs", unix.MS_REMOUNT, "") })
	sink := smtpsink.Start(t, smtpsink.Options{})
	ca := smtpsink.NewTestCA(t)
	writePair(t, dir, ca.Leaf(t, "gw.example.org", "127.0.0.1"))
	cfg := fullDiskConfig(t, dir, data, sink.Addr, 0)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "tls: {cert: %[1]s/cert.pem, key: %[1]s/key.pem}\napi: {listen: \"127.0.0.1:0\"}\n", dir)
	f.Close()
	a := processAPIClient(t, cfg, ca, "ehr")
	msg := map[string]any{"from": "lab@clinic.example.org", "to": []string{"dr@example.net"}, "subject": "s", "text": "t"}

	if err := unix.Mount("tmpfs", data, "tmpfs", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	_, lines := serveLines(t, bin, cfg)
	a.url = apiURLFrom(t, lines, "sealgate: standby: HTTP API on https://", cfg)
	status, body, hdr := a.post(t, msg, "Idempotency-Key", "ro-1")
	checkRetryLater(t, "read-only data folder", status, body, hdr, 503, "unavailable")
	if m, _ := body["error"].(map[string]any)["message"].(string); !strings.Contains(m, "read-only") {
		t.Errorf("the 503 does not say why: %v", body)
	}

	if err := unix.Mount("tmpfs", data, "tmpfs", unix.MS_REMOUNT, ""); err != nil {
		t.Fatalf("remount read-write: %v", err)
	}
	a.url = apiURLFrom(t, lines, "sealgate: HTTP API on https://", cfg)
	if status, body, _ := a.post(t, msg, "Idempotency-Key", "ro-1"); status != 202 {
		t.Fatalf("writable again: %d %v", status, body)
	}
	if _, err := sink.Wait(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// processAPIClient makes an API key for client in the config of a gateway
// that runs as a process, and a client of its API trusting ca; its url is
// set once the process announces it (apiURLFrom).
func processAPIClient(t *testing.T, cfg string, ca *smtpsink.TestCA, client string) *apiEnv {
	t.Helper()
	code, out, errOut := runCLI("apikey", "new", "--client", client, "--config", cfg)
	if code != 0 {
		t.Fatalf("apikey new: %d %s", code, errOut)
	}
	return &apiEnv{key: strings.TrimSpace(out), http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "gw.example.org"}}}}
}

// apiURLFrom is the API base URL a gateway process announces on the line
// that starts with prefix.
func apiURLFrom(t *testing.T, lines <-chan string, prefix, cfg string) string {
	t.Helper()
	return "https://" + strings.TrimSuffix(strings.Fields(waitLine(t, lines, prefix, 30*time.Second, cfg))[0], "/v1/messages")
}
