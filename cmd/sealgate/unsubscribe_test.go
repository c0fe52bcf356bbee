package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/sealgate/sealgate/dkim"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/unsubscribe"
)

// unsubEnv is a campaign gateway that signs clinic.example.org with DKIM
// and serves the portal on loopback.
type unsubEnv struct {
	*campaignEnv
	dkimTXT string // the key record, as published
	portal  string // https://127.0.0.1:PORT
	http    *http.Client
}

func newUnsubEnv(t *testing.T) *unsubEnv {
	t.Helper()
	keyDir := t.TempDir()
	keyPath, rec, err := dkim.Keygen("clinic.example.org", "s1", "rsa", keyDir)
	if err != nil {
		t.Fatal(err)
	}
	_, value, _ := strings.Cut(rec, " IN TXT ")
	value = strings.ReplaceAll(strings.ReplaceAll(value, `" "`, ""), `"`, "")
	e := newCampaignEnv(t, fmt.Sprintf(`portal: {listen: "127.0.0.1:0", base_url: "https://localhost:8443", unsubscribe_mailto: "unsubscribe@clinic.example.org"}
dkim:
  - {domain: clinic.example.org, selector: s1, key: %s}
`, keyPath))
	return &unsubEnv{campaignEnv: e, dkimTXT: value, portal: "https://" + e.gw.portal.Addr().String(),
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool(), ServerName: "localhost"}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// delivered waits for the message with Message-ID id at the sink.
func (e *unsubEnv) delivered(t *testing.T, id string) []byte {
	t.Helper()
	return waitDelivered(t, e.sink, id)
}

var linkRE = regexp.MustCompile(`<https://localhost:8443/u/([A-Za-z0-9_.-]+)>`)

// TestOneClickUnsubscribe: a marketing message arrives with
// List-Unsubscribe (HTTPS and mailto) and List-Unsubscribe-Post, both
// covered by a DKIM signature that go-msgauth and opendkim verify; a GET
// of the link changes nothing; a forged token is refused; a real HTTPS
// POST of the one-click body suppresses the address for the sending
// domain (audited), after which the next marketing RCPT to it is refused
// while a transactional message still goes, without unsubscribe fields.
func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newUnsubEnv(t)
	if err := e.send("news", "news@clinic.example.org", "pat@example.net", campaignMessage("c1@clinic", "pat@example.net")); err != nil {
		t.Fatal(err)
	}
	raw := e.delivered(t, "c1@clinic")
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	lu := msg.Header.Get("List-Unsubscribe")
	m := linkRE.FindStringSubmatch(lu)
	if m == nil || !strings.Contains(lu, "<mailto:unsubscribe@clinic.example.org?subject=unsubscribe%20"+m[1]+">") ||
		msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("unsubscribe fields: %q / %q", lu, msg.Header.Get("List-Unsubscribe-Post"))
	}
	e.checkDKIM(t, raw)
	token := m[1]
	link := e.portal + "/u/" + token

	// GET shows the page and changes nothing.
	body := e.request(t, http.MethodGet, link, http.StatusOK)
	if !strings.Contains(body, "pat@example.net") || !strings.Contains(body, `id="unsubscribe"`) || !strings.Contains(body, `name="viewport"`) {
		t.Fatalf("confirmation page:\n%s", body)
	}
	if err := e.send("news", "news@clinic.example.org", "pat@example.net", campaignMessage("c2@clinic", "pat@example.net")); err != nil {
		t.Fatalf("after a GET: %v", err)
	}

	// Forged: the payload names another address under the same MAC, and a
	// token made with another key.
	payload, mac, _ := strings.Cut(token, ".")
	if payload == "" {
		t.Fatal("token without payload")
	}
	other := b64("clinic.example.org\nsam@example.net")
	otherKey, _ := unsubscribe.NewTokens(bytes.Repeat([]byte{1}, unsubscribe.KeySize))
	for _, forged := range []string{other + "." + mac, otherKey.Make("clinic.example.org", "sam@example.net"), token + "x", "nothing"} {
		e.request(t, http.MethodPost, e.portal+"/u/"+forged, http.StatusNotFound)
	}
	if err := e.send("news", "news@clinic.example.org", "sam@example.net", campaignMessage("c3@clinic", "sam@example.net")); err != nil {
		t.Fatalf("forged unsubscribe took effect: %v", err)
	}

	// The one-click POST, as a mailbox provider sends it.
	done := e.request(t, http.MethodPost, link, http.StatusOK)
	if !strings.Contains(done, `id="unsubscribed"`) {
		t.Fatalf("after POST:\n%s", done)
	}
	if err := e.send("news", "news@clinic.example.org", "pat@example.net", campaignMessage("c4@clinic", "pat@example.net")); !isSuppressedReply(err) {
		t.Fatalf("marketing mail after unsubscribe: %v, want 550 5.7.1", err)
	}
	if err := e.send("ehr", "reminders@clinic.example.org", "pat@example.net", campaignMessage("t1@clinic", "pat@example.net")); err != nil {
		t.Fatalf("transactional mail after unsubscribe: %v", err)
	}
	if tx, _ := mail.ReadMessage(bytes.NewReader(e.delivered(t, "t1@clinic"))); tx.Header.Get("List-Unsubscribe") != "" {
		t.Fatal("transactional mail got List-Unsubscribe")
	}
	want := []string{"unsubscribe clinic.example.org pat@example.net unsubscribe recipient"}
	if got := suppressionEvents(t, filepath.Join(e.dir, "audit.log")); !slices.Equal(got, want) {
		t.Fatalf("audit: %q, want %q", got, want)
	}
	// sealgate stats: c1-c3 and t1 sent and delivered, c4 refused at RCPT,
	// one unsubscribe.
	checkStats(t, e.path, "clinic.example.org", map[string]int64{stats.Sent: 4, stats.Delivered: 4,
		stats.Unsubscribes: 1, stats.Suppressed: 1, stats.Complaints: 0})
	wantMetricLines(t, e.env, `sealgate_provider_unsubscribes_total{provider="other"} 1`,
		`sealgate_provider_deliveries_total{provider="other",result="delivered"} 4`)
}

// TestUnsubscribeTokenPerRecipient: one marketing message to two
// recipients leaves as two copies, each with a token for its own address.
func TestUnsubscribeTokenPerRecipient(t *testing.T) {
	t.Parallel()
	e := newUnsubEnv(t)
	if err := e.sendTo("news", "news@clinic.example.org", []string{"a@example.net", "b@example.net"}, campaignMessage("two@clinic", "list@example.net")); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.sink.Wait(2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		if len(m.Rcpts) != 1 {
			t.Fatalf("a copy went to %v", m.Rcpts)
		}
		lm := linkRE.FindSubmatch(m.Data)
		if lm == nil {
			t.Fatalf("no link in copy for %s", m.Rcpts[0])
		}
		tokens, _ := unsubscribeTokens(e.cfg)
		_, addr, err := tokens.Open(string(lm[1]))
		if err != nil || addr != m.Rcpts[0] {
			t.Fatalf("copy for %s carries a token for %q (%v)", m.Rcpts[0], addr, err)
		}
		seen[addr] = true
		e.checkDKIM(t, m.Data)
	}
	if len(seen) != 2 {
		t.Fatalf("tokens for %v", seen)
	}
}

// b64 is the payload part of a token for "domain\naddress".
func b64(s string) string {
	t, _ := unsubscribe.NewTokens(make([]byte, unsubscribe.KeySize))
	d, a, _ := strings.Cut(s, "\n")
	p, _, _ := strings.Cut(t.Make(d, a), ".")
	return p
}

// request sends a GET, or a one-click POST, and checks the status.
func (e *unsubEnv) request(t *testing.T, method, u string, status int) string {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(url.Values{"List-Unsubscribe": {"One-Click"}}.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d", method, u, resp.StatusCode, status)
	}
	return string(b)
}

// checkDKIM verifies raw's signature with go-msgauth and, where it is
// installed (always in CI), opendkim-testmsg, and checks that h= covers
// both unsubscribe fields.
func (e *unsubEnv) checkDKIM(t *testing.T, raw []byte) {
	t.Helper()
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(raw), &msgdkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		if name != "s1._domainkey.clinic.example.org" {
			return nil, fmt.Errorf("no record for %s", name)
		}
		return []string{e.dkimTXT}, nil
	}})
	if err != nil || len(vs) != 1 || vs[0].Err != nil {
		t.Fatalf("DKIM: %v %+v", err, vs)
	}
	h := strings.Join(vs[0].HeaderKeys, ":")
	if !strings.Contains(strings.ToLower(h), "list-unsubscribe:list-unsubscribe-post") {
		t.Fatalf("h= %s does not cover the unsubscribe fields", h)
	}
	opendkimVerify(t, raw, e.dkimTXT)
}

// opendkimRuns numbers the DNS servers of opendkimVerify, each on its own
// loopback address.
var opendkimRuns atomic.Int32

// opendkimVerify runs opendkim-testmsg on raw in a private mount namespace
// whose /etc/resolv.conf names a loopback DNS server with the key.
func opendkimVerify(t *testing.T, raw []byte, txt string) {
	t.Helper()
	tool, err := exec.LookPath("opendkim-testmsg")
	if err != nil {
		tool = "/usr/sbin/opendkim-testmsg"
	}
	unshare, err2 := exec.LookPath("unshare")
	if _, err := os.Stat(tool); err != nil || err2 != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("opendkim-testmsg and unshare are needed in CI: %v %v", err, err2)
		}
		t.Log("opendkim-testmsg not installed: checked with go-msgauth only")
		return
	}
	ip := dnstest.IPN(t, int(opendkimRuns.Add(1)))
	srv := dnstest.StartOn(t, ip)
	var parts []string
	for v := txt; v != ""; {
		n := min(len(v), 255)
		parts, v = append(parts, `"`+v[:n]+`"`), v[n:]
	}
	srv.Add(t, "s1._domainkey.clinic.example.org. 60 IN TXT "+strings.Join(parts, " "))
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(resolv, []byte("nameserver "+ip+"\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "--mount", "--", "sh", "-c", `mount --bind "$0" /etc/resolv.conf && exec "$@"`, resolv, tool)
	cmd.Stdin = bytes.NewReader(raw)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("opendkim-testmsg: %v %s", err, out)
	}
}
