package main

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/testenv"
)

// apiEnv is a gateway with the HTTP API on, an API key for the
// "marketing" client (allowed senders *@news.example.org) and a client
// that trusts the gateway's certificate.
type apiEnv struct {
	*env
	url  string
	key  string
	http *http.Client
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	return newAPIEnvWith(t, envOpts{}, "")
}

// newAPIEnvWith is newAPIEnv with o's sink, YAML and hooks, and more
// items in the limits section (", key: value").
func newAPIEnvWith(t *testing.T, o envOpts, limits string) *apiEnv {
	t.Helper()
	o.extra = "api: {listen: \"127.0.0.1:0\", max_request_size: 200KiB}\nlimits: {max_message_size: 100KiB" + limits + "}\n" + o.extra
	e := newEnv(t, o)
	if e.gw.api == nil {
		t.Fatal("api.listen set, but no API server")
	}
	var out, errb bytes.Buffer
	if code := run([]string{"apikey", "new", "--client", "marketing", "--config", e.path}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("apikey new: %d %s", code, errb.String())
	}
	key := strings.TrimSpace(out.String())
	if !strings.HasPrefix(key, "sgk_") || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("apikey new printed %q", out.String())
	}
	return &apiEnv{env: e, url: "https://" + e.gw.api.Addr().String(), key: key,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool(), ServerName: "gw.example.org"}}}}
}

// do sends a request and returns the status, the decoded JSON body and
// the response headers.
func (a *apiEnv) do(t *testing.T, method, path, ctype, key string, body []byte, hdr ...string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, a.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m, resp.Header
}

func (a *apiEnv) post(t *testing.T, msg any, hdr ...string) (int, map[string]any, http.Header) {
	t.Helper()
	b, _ := json.Marshal(msg)
	return a.do(t, "POST", "/v1/messages", "application/json", a.key, b, hdr...)
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestAPISendsThroughTheQueue drives the API with Go's HTTP client over
// TLS: a JSON message with text, HTML, an attachment, a Bcc and an extra
// header is answered 202 with its queue ID and delivered to the sink; an
// Idempotency-Key retry is answered with the same ID and sends nothing
// more; the status shows each recipient delivered.
func TestAPISendsThroughTheQueue(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	msg := map[string]any{
		"from": "News <news@news.example.org>", "to": []string{"Pat <pat@example.net>"},
		"bcc": []string{"archive@example.net"}, "subject": "Flu clinic hours — Grippe",
		"text": "We open at 8.\nBring your card.", "html": "<p>We open at <b>8</b>.</p>",
		"attachments": []map[string]string{{"filename": "hours.pdf", "content_type": "application/pdf",
			"content": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 fake"))}},
		"headers": map[string]string{"X-Campaign": "flu-2026"},
	}
	code, body, _ := a.post(t, msg, "Idempotency-Key", "flu-1")
	id, _ := body["id"].(string)
	if code != 202 || id == "" || body["status"] != "queued" {
		t.Fatalf("send: %d %v", code, body)
	}
	got, err := a.sink.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := got[0]
	data := string(m.Data)
	for _, want := range []string{`From: "News" <news@news.example.org>`, `To: "Pat" <pat@example.net>`,
		"X-Campaign: flu-2026", "multipart/mixed", "multipart/alternative", `filename=hours.pdf`,
		"with HTTPS id " + id, "Subject: =?utf-8?"} {
		if !strings.Contains(data, want) {
			t.Errorf("delivered message lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(strings.ToLower(data), "\r\nbcc:") || strings.Contains(data, "archive@example.net") {
		t.Errorf("the Bcc recipient shows in the message:\n%s", data)
	}
	if strings.Join(m.Rcpts, ",") != "pat@example.net,archive@example.net" || m.From != "news@news.example.org" {
		t.Errorf("envelope %s → %v", m.From, m.Rcpts)
	}
	if bytes.Contains(bytes.ReplaceAll(m.Data, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF in the delivered message")
	}

	// The same request again: the same answer, no second message.
	code, again, hdr := a.post(t, msg, "Idempotency-Key", "flu-1")
	if code != 202 || again["id"] != id || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %v %v", code, again, hdr)
	}
	// The same key with another body is refused.
	msg["subject"] = "Another"
	if code, body, _ = a.post(t, msg, "Idempotency-Key", "flu-1"); code != 422 || errCode(body) != "idempotency_mismatch" {
		t.Errorf("key reused for another body: %d %v", code, body)
	}
	// A later message arrives as the second one: the retry sent nothing.
	raw := "From: news@news.example.org\nTo: late@example.net\nSubject: marker\n\nlast\n"
	code, body, _ = a.do(t, "POST", "/v1/messages", "message/rfc822", a.key, []byte(raw))
	if code != 202 {
		t.Fatalf("raw message: %d %v", code, body)
	}
	got, err = a.sink.Wait(2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Rcpts[0] != "late@example.net" || !bytes.Contains(got[1].Data, []byte("\r\n\r\nlast\r\n")) {
		t.Fatalf("after the retry the sink holds %d messages; second to %v", len(got), got[len(got)-1].Rcpts)
	}

	// Status: both recipients delivered at the first attempt.
	var st map[string]any
	testenv.WaitForState(t, 30*time.Second, "both recipients delivered in the status", func() (bool, string) {
		code, st, _ = a.do(t, "GET", "/v1/messages/"+id, "", a.key, nil)
		rs, _ := st["recipients"].([]any)
		return code == 200 && len(rs) == 2 && rs[0].(map[string]any)["status"] == "delivered" &&
			rs[1].(map[string]any)["status"] == "delivered", fmt.Sprint(code, " ", st)
	})
	r0 := st["recipients"].([]any)[0].(map[string]any)
	if r0["address"] != "pat@example.net" || r0["attempts"] != 1.0 || r0["updated"] == nil {
		t.Errorf("recipient status %v", r0)
	}
	if code, body, _ = a.do(t, "GET", "/v1/messages/nosuchid", "", a.key, nil); code != 404 || errCode(body) != "not_found" {
		t.Errorf("unknown id: %d %v", code, body)
	}
}

// TestAPIRefusals: every refusal is JSON with a stable code, and none
// queues anything.
func TestAPIRefusals(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	good := func() map[string]any {
		return map[string]any{"from": "news@news.example.org", "to": []string{"pat@example.net"}, "subject": "s", "text": "t"}
	}
	cases := []struct {
		name   string
		status int
		code   string
		send   func() (int, map[string]any, http.Header)
	}{
		{"no key", 401, "unauthorized", func() (int, map[string]any, http.Header) {
			b, _ := json.Marshal(good())
			return a.do(t, "POST", "/v1/messages", "application/json", "", b)
		}},
		{"bad key", 401, "unauthorized", func() (int, map[string]any, http.Header) {
			b, _ := json.Marshal(good())
			return a.do(t, "POST", "/v1/messages", "application/json", a.key+"x", b)
		}},
		{"foreign sender", 403, "sender_not_allowed", func() (int, map[string]any, http.Header) {
			m := good()
			m["from"] = "ceo@hospital.example"
			return a.post(t, m)
		}},
		{"oversized", 413, "too_large", func() (int, map[string]any, http.Header) {
			m := good()
			m["text"] = strings.Repeat("x", 300<<10)
			return a.post(t, m)
		}},
		{"message over limits.max_message_size", 413, "too_large", func() (int, map[string]any, http.Header) {
			m := good()
			m["text"] = strings.Repeat("y", 150<<10) // within the request limit, not the message limit
			return a.post(t, m)
		}},
		{"malformed JSON", 400, "invalid_request", func() (int, map[string]any, http.Header) {
			return a.do(t, "POST", "/v1/messages", "application/json", a.key, []byte(`{"from": "news@news.example.org", "to": [`))
		}},
		{"unknown field", 400, "invalid_request", func() (int, map[string]any, http.Header) {
			return a.do(t, "POST", "/v1/messages", "application/json", a.key, []byte(`{"from":"news@news.example.org","to":["p@example.net"],"txt":"x"}`))
		}},
		{"header the API writes", 400, "invalid_request", func() (int, map[string]any, http.Header) {
			m := good()
			m["headers"] = map[string]string{"From": "ceo@hospital.example"}
			return a.post(t, m)
		}},
		{"no recipient", 400, "invalid_request", func() (int, map[string]any, http.Header) {
			m := good()
			m["to"] = []string{}
			return a.post(t, m)
		}},
		{"bad base64", 400, "invalid_request", func() (int, map[string]any, http.Header) {
			m := good()
			m["attachments"] = []map[string]string{{"filename": "a.txt", "content": "!!!"}}
			return a.post(t, m)
		}},
		{"media type", 415, "unsupported_media_type", func() (int, map[string]any, http.Header) {
			return a.do(t, "POST", "/v1/messages", "text/plain", a.key, []byte("hello"))
		}},
		{"method", 405, "method_not_allowed", func() (int, map[string]any, http.Header) {
			return a.do(t, "GET", "/v1/messages", "", a.key, nil)
		}},
	}
	for _, c := range cases {
		code, body, hdr := c.send()
		if code != c.status || errCode(body) != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.name, code, body, c.status, c.code)
		}
		if msg, _ := body["error"].(map[string]any)["message"].(string); msg == "" {
			t.Errorf("%s: no message in %v", c.name, body)
		}
		if c.status == 401 && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", c.name)
		}
	}
	if n := len(a.gw.queue.List()); n != 0 {
		t.Errorf("refused requests queued %d messages", n)
	}
	if m := scrape(t, a.env); !hasMetricLine(m, `sealgate_messages_rejected_total{reason="sender_denied"} 1`) {
		t.Error("the foreign sender is not counted as sender_denied")
	}
	// A revoked key stops working at once.
	var out bytes.Buffer
	run([]string{"apikey", "list", "--json", "--config", a.path}, strings.NewReader(""), &out, io.Discard)
	var keys []map[string]any
	if err := json.Unmarshal(out.Bytes(), &keys); err != nil || len(keys) != 1 || keys[0]["client"] != "marketing" {
		t.Fatalf("apikey list: %q", out.String())
	}
	if strings.Contains(out.String(), a.key) {
		t.Error("apikey list shows the key")
	}
	if code := run([]string{"apikey", "revoke", keys[0]["id"].(string), "--config", a.path}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
		t.Fatal("revoke failed")
	}
	if code, body, _ := a.post(t, good()); code != 401 {
		t.Errorf("revoked key: %d %v", code, body)
	}
}
