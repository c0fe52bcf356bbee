package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/webhook"
)

// hookReceiver is a loopback HTTPS webhook receiver with a certificate
// from a test CA; it verifies every signature and can refuse (503).
type hookReceiver struct {
	url    string
	secret []byte
	refuse atomic.Bool
	tried  atomic.Int32
	mu     sync.Mutex
	bodies [][]byte
	bad    int
}

func startHookReceiver(t *testing.T, ca *smtpsink.TestCA, secret string) *hookReceiver {
	t.Helper()
	r := &hookReceiver{secret: []byte(secret)}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", smtpsink.ServerTLS(ca.Leaf(t, "127.0.0.1")))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.tried.Add(1)
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if !webhook.Verify(r.secret, body, req.Header.Get("X-Sealgate-Signature")) || req.Header.Get("X-Sealgate-Timestamp") == "" {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.refuse.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.bodies = append(r.bodies, body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	r.url = "https://" + ln.Addr().(*net.TCPAddr).String() + "/hooks/sealgate"
	return r
}

// yaml writes r's secret and the CA that issued its certificate into dir
// and returns the webhooks section that sends events to r.
func (r *hookReceiver) yaml(t *testing.T, dir string, ca *smtpsink.TestCA, events string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "hook.secret"), append(r.secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hookca.pem"), ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("webhooks:\n  - {url: %q, secret_file: %s/hook.secret, ca_file: %s/hookca.pem, events: [%s]}\n", r.url, dir, dir, events)
}

func (r *hookReceiver) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// waitEvents waits, bounded by within, until the receiver has taken at
// least n events, and returns them.
func (r *hookReceiver) waitEvents(t *testing.T, n int, within time.Duration) [][]byte {
	t.Helper()
	var bodies [][]byte
	testenv.WaitForState(t, within, fmt.Sprintf("%d webhook events", n), func() (bool, string) {
		bodies = r.received()
		return len(bodies) >= n, fmt.Sprintf("%d events", len(bodies))
	})
	return bodies
}

// relayPlain submits msg over SMTP without TLS (the relay listener of
// crashConfig) and fails t unless it is answered 250.
func relayPlain(t *testing.T, addr, from string, to []string, msg string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(from, to, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
}

// hookedGateway builds the binary and writes the config of a gateway that
// delivers example.net to a sink and sends accepted and delivered events
// to a loopback HTTPS receiver, which refuses them until told otherwise.
func hookedGateway(t *testing.T) (bin, cfg string, sink *smtpsink.Sink, recv *hookReceiver) {
	t.Helper()
	bin = buildBinary(t)
	sink = smtpsink.Start(t, smtpsink.Options{})
	ca := smtpsink.NewTestCA(t)
	recv = startHookReceiver(t, ca, "receiver-secret-0123456789")
	recv.refuse.Store(true)
	dir := t.TempDir()
	cfg = crashConfig(t, dir, "127.0.0.1:0", sink.Addr)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(recv.yaml(t, dir, ca, "accepted, delivered"))
	f.Close()
	return bin, cfg, sink, recv
}

// TestWebhookEventsSurviveKill9RightAfterDelivery: five messages to two
// recipients each; the gateway is killed with SIGKILL the moment the sink
// has the last of them, without waiting for any event to be offered.
// Started again with the receiver taking events, it sends an accepted and
// a delivered event for every recipient of every message (a message the
// crash caught before its outcome was recorded is delivered again, with
// its event then): none is lost.
func TestWebhookEventsSurviveKill9RightAfterDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built binary; skipped with -short")
	}
	t.Parallel()
	bin, cfg, sink, recv := hookedGateway(t)
	proc, listen := startProcess(t, bin, cfg)
	const messages = 5
	rcpts := []string{"dr@example.net", "nurse@example.net"}
	for i := range messages {
		msg := fmt.Sprintf("From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: note %d\r\nMessage-ID: <k9-%d@clinic.example.org>\r\n\r\nbody\r\n", i, i)
		relayPlain(t, listen, "lab@clinic.example.org", rcpts, msg)
	}
	if _, err := sink.Wait(messages, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	proc.Process.Kill()
	proc.Wait()

	recv.refuse.Store(false)
	proc, _ = startProcess(t, bin, cfg)
	defer func() { proc.Process.Kill(); proc.Wait() }()
	got := func() (accepted, delivered map[string]bool) {
		accepted, delivered = map[string]bool{}, map[string]bool{}
		for _, b := range recv.received() {
			var e webhook.Event
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			key := e.QueueID + " " + e.Recipient
			switch e.Event {
			case "accepted":
				accepted[key] = true
			case "delivered":
				delivered[key] = true
			}
		}
		return accepted, delivered
	}
	want := messages * len(rcpts)
	var accepted, delivered map[string]bool
	testenv.WaitForState(t, 90*time.Second, "an accepted and a delivered event for each recipient after the restart", func() (bool, string) {
		accepted, delivered = got()
		return len(accepted) == want && len(delivered) == want,
			fmt.Sprintf("%d accepted and %d delivered events, want %d each", len(accepted), len(delivered), want)
	})
	for k := range accepted {
		if !delivered[k] {
			t.Fatalf("accepted %s has no delivered event", k)
		}
	}
	if recv.bad != 0 {
		t.Errorf("%d events with a bad signature", recv.bad)
	}
}

// TestWebhookSurvivesKill9 runs the built gateway with a webhook whose
// receiver refuses at first: the accepted and delivered events wait in
// the outbox; the gateway is killed with SIGKILL; started again with the
// receiver taking events, it sends both, signed, with the message's queue
// ID and no content.
func TestWebhookSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built binary; skipped with -short")
	}
	t.Parallel()
	bin, cfg, sink, recv := hookedGateway(t)
	proc, listen := startProcess(t, bin, cfg)
	msg := "From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: SECRET-SUBJECT\r\nMessage-ID: <hook-1@clinic.example.org>\r\n\r\nSECRET-BODY\r\n"
	relayPlain(t, listen, "lab@clinic.example.org", []string{"dr@example.net"}, msg)
	if _, err := sink.Wait(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// Both events have been offered (and refused): they are in the outbox.
	testenv.WaitFor(t, 60*time.Second, "both events offered to the receiver", func() bool { return recv.tried.Load() >= 2 })
	proc.Process.Kill()
	proc.Wait()
	if n := len(recv.received()); n != 0 {
		t.Fatalf("a refusing receiver took %d events", n)
	}

	recv.refuse.Store(false)
	proc, _ = startProcess(t, bin, cfg)
	defer func() { proc.Process.Kill(); proc.Wait() }()
	bodies := recv.waitEvents(t, 2, 60*time.Second)
	idRE := regexp.MustCompile(`"queue_id":"([0-9a-f]+)"`)
	kinds := map[string]bool{}
	var ids []string
	for _, b := range bodies {
		var e webhook.Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		kinds[e.Event] = true
		ids = append(ids, idRE.FindStringSubmatch(string(b))[1])
		if e.Recipient != "dr@example.net" || e.Client != "ehr" || e.ID == "" || e.Time.IsZero() {
			t.Errorf("event %s", b)
		}
		if strings.Contains(string(b), "SECRET") || strings.Contains(string(b), "lab@clinic") {
			t.Errorf("the event carries content or the sender: %s", b)
		}
	}
	if !kinds["accepted"] || !kinds["delivered"] || ids[0] != ids[1] || recv.bad != 0 {
		t.Errorf("events %v for %v, %d with a bad signature", kinds, ids, recv.bad)
	}
	if sink.Count() != 1 {
		t.Errorf("the message was delivered %d times", sink.Count())
	}
}

// TestPortalWebhooks: a PHI message left in the portal, opened and
// answered there, gives the receiver portal_opened and portal_replied
// events for its queue ID and recipient, signed, with no content.
func TestPortalWebhooks(t *testing.T) {
	t.Parallel()
	var recv *hookReceiver
	e := newProtEnvYAML(t, nil, nil, func(dir string, ca *smtpsink.TestCA) string {
		recv = startHookReceiver(t, ca, "portal-hook-secret-0123")
		return recv.yaml(t, dir, ca, "portal_opened, portal_replied")
	})
	token := e.portalNotice(t, "nobody@bad.example")
	c := newPortalClient(t, e.env)
	_, page := c.get("/m/" + token)
	if status, p := c.post("/code/send", page, url.Values{}); status != http.StatusOK {
		t.Fatalf("send code: %d", status)
	} else {
		page = p
	}
	code := waitCode(t, e.bad)
	status, page := c.post("/code/verify", page, url.Values{"code": {code}})
	if status != http.StatusOK {
		t.Fatalf("verify: %d", status)
	}
	replyThrough(t, c, page)
	bodies := recv.waitEvents(t, 2, 60*time.Second)
	kinds := map[string]string{}
	for _, b := range bodies {
		var ev webhook.Event
		json.Unmarshal(b, &ev)
		kinds[ev.Event] = ev.QueueID
		if ev.Recipient != "nobody@bad.example" || ev.QueueID == "" || strings.Contains(ev.QueueID, ".") {
			t.Errorf("event %s", b)
		}
		checkNoPHI(t, "webhook event", b)
	}
	if kinds["portal_opened"] == "" || kinds["portal_opened"] != kinds["portal_replied"] || recv.bad != 0 {
		t.Errorf("events %v, %d with a bad signature", kinds, recv.bad)
	}
	if !strings.Contains(e.logs.String(), "queue_id="+kinds["portal_opened"]) {
		t.Errorf("queue ID %q in the events is not a queue ID of the gateway's log", kinds["portal_opened"])
	}
}

// TestSuppressedWebhook: a marketing client's recipient refused by the
// suppression list gives the receiver a suppressed event, signed, naming
// the recipient and no message; a recipient not on the list gives none.
func TestSuppressedWebhook(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	recv := startHookReceiver(t, ca, "suppressed-hook-secret")
	e := newCampaignEnv(t, recv.yaml(t, t.TempDir(), ca, "suppressed, delivered"))
	if code, out, errOut := runCLI("suppress", "add", "pat@example.net", "--domain", "clinic.example.org", "--config", e.path); code != 0 {
		t.Fatalf("suppress add: %d %s %s", code, out, errOut)
	}
	if err := e.send("news", "news@clinic.example.org", "pat@example.net", campaignMessage("s1@clinic", "pat@example.net")); !isSuppressedReply(err) {
		t.Fatalf("suppressed RCPT: %v", err)
	}
	// A message to a recipient not on the list: its delivered event comes
	// after the suppressed one, and nothing else is sent.
	if err := e.send("news", "news@clinic.example.org", "sam@example.net", campaignMessage("s2@clinic", "sam@example.net")); err != nil {
		t.Fatal(err)
	}
	bodies := recv.waitEvents(t, 2, 60*time.Second)
	var sup, del webhook.Event
	for _, b := range bodies {
		var ev webhook.Event
		json.Unmarshal(b, &ev)
		switch ev.Event {
		case "suppressed":
			sup = ev
			if strings.Contains(string(b), "queue_id") {
				t.Errorf("a suppressed event names a queue ID: %s", b)
			}
		case "delivered":
			del = ev
		}
	}
	if sup.Recipient != "pat@example.net" || del.Recipient != "sam@example.net" || len(recv.received()) != 2 || recv.bad != 0 {
		t.Errorf("events %s", bodies)
	}
}
