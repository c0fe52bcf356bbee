package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/testenv"
)

// receiver is a loopback HTTPS webhook receiver that checks signatures.
type receiver struct {
	srv    *httptest.Server
	secret []byte
	fail   atomic.Bool // answer 503
	mu     sync.Mutex
	events []Event
	taken  [][2]string // the body and X-Sealgate-Signature of each event taken
	bad    int         // requests with a wrong signature or timestamp
	tries  atomic.Int32
}

func newReceiver(t testing.TB, secret string) *receiver {
	r := &receiver{secret: []byte(secret)}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.tries.Add(1)
		body, _ := io.ReadAll(req.Body)
		ts, err := strconv.ParseInt(req.Header.Get("X-Sealgate-Timestamp"), 10, 64)
		r.mu.Lock()
		defer r.mu.Unlock()
		if !Verify(r.secret, body, req.Header.Get("X-Sealgate-Signature")) || err != nil ||
			time.Since(time.Unix(ts, 0)).Abs() > time.Minute || req.Header.Get("Content-Type") != "application/json" {
			r.bad++
			w.WriteHeader(401)
			return
		}
		if r.fail.Load() {
			w.WriteHeader(503)
			return
		}
		var e Event
		json.Unmarshal(body, &e)
		r.events = append(r.events, e)
		r.taken = append(r.taken, [2]string{string(body), req.Header.Get("X-Sealgate-Signature")})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) tlsConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(r.srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

func (r *receiver) got() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, what, cond)
}

// TestSignedEventsRetriedUntilTaken: the receiver refuses at first; the
// events come again with back-off and are taken, each signed, each kind
// only to the receivers that asked for it, without any content.
func TestSignedEventsRetriedUntilTaken(t *testing.T) {
	t.Parallel()
	a, b := newReceiver(t, "secret-of-receiver-a"), newReceiver(t, "secret-of-receiver-b")
	a.fail.Store(true)
	ob, err := Open(Options{Dir: t.TempDir(), MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Receivers: []Receiver{
			{URL: a.srv.URL + "/hook", Secret: a.secret, Events: []string{"delivered", "bounced"}, TLS: a.tlsConfig()},
			{URL: b.srv.URL + "/hook", Secret: b.secret, Events: []string{"accepted"}, TLS: b.tlsConfig()},
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ob.Add(Event{Event: "accepted", QueueID: "Q1", Recipient: "pat@example.net", Client: "ehr"})
	ob.Add(Event{Event: "delivered", QueueID: "Q1", Recipient: "pat@example.net", Attempt: 1, Code: 250, EnhancedCode: "2.0.0"})
	ob.Add(Event{Event: "deferred", QueueID: "Q1", Recipient: "dr@example.net"}) // nobody asked
	waitFor(t, "receiver b gets accepted", func() bool { return len(b.got()) == 1 })
	waitFor(t, "receiver a is tried three times", func() bool { return a.tries.Load() >= 3 })
	a.fail.Store(false)
	waitFor(t, "receiver a gets delivered", func() bool { return len(a.got()) == 1 })
	waitFor(t, "the outbox empties", func() bool { n, _ := ob.Pending(context.Background()); return n == 0 })
	e := a.got()[0]
	if e.Event != "delivered" || e.QueueID != "Q1" || e.Recipient != "pat@example.net" || e.Code != 250 || e.ID == "" || e.Time.IsZero() {
		t.Errorf("event %+v", e)
	}
	if b.got()[0].Event != "accepted" || a.bad+b.bad != 0 {
		t.Errorf("b got %+v; bad signatures %d", b.got(), a.bad+b.bad)
	}
	// A receiver with another secret refuses: the signature is the secret's.
	if Verify([]byte("another secret!!"), []byte(`{}`), Sign(a.secret, []byte(`{}`))) {
		t.Error("a signature verifies under another secret")
	}
}

// TestOutboxSurvivesRestart: events the receiver did not take are in the
// outbox file, and an outbox opened again sends them.
func TestOutboxSurvivesRestart(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, "a secret sixteen+")
	r.fail.Store(true)
	dir := t.TempDir()
	rcv := []Receiver{{URL: r.srv.URL, Secret: r.secret, Events: []string{"bounced"}, TLS: r.tlsConfig()}}
	ob, err := Open(Options{Dir: dir, Receivers: rcv, MinBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ob.Add(Event{Event: "bounced", QueueID: "Q9", Recipient: "x@example.net", Code: 550})
	waitFor(t, "a first refused attempt", func() bool { return r.tries.Load() >= 1 })
	ob.Close()
	r.fail.Store(false)
	ob, err = Open(Options{Dir: dir, Receivers: rcv})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	// Due again only after MinBackoff of the first run (an hour): make it due now.
	ob.db.Exec(`UPDATE outbox SET next_at = 0`)
	ob.poke <- struct{}{}
	waitFor(t, "the event after the restart", func() bool { return len(r.got()) == 1 })
	if e := r.got()[0]; e.QueueID != "Q9" || e.Event != "bounced" {
		t.Errorf("event %+v", e)
	}
}

func TestReadSecretRefusesWeakOrOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string, mode int) string {
		p := dir + "/" + name
		if err := writeFile(p, content, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if s, err := ReadSecret(write("ok", "  0123456789abcdef\n", 0o600)); err != nil || string(s) != "0123456789abcdef" {
		t.Errorf("good secret: %q %v", s, err)
	}
	if _, err := ReadSecret(write("short", "short", 0o600)); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Errorf("short secret: %v", err)
	}
	if _, err := ReadSecret(write("open", "0123456789abcdef", 0o604)); err == nil || !strings.Contains(err.Error(), "others") {
		t.Errorf("world-readable secret: %v", err)
	}
}

func writeFile(p, content string, mode int) error {
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Chmod(p, os.FileMode(mode))
}

// TestSignatureIsOpenSSLHMAC: a receiver that knows only the secret checks
// the X-Sealgate-Signature of a delivered event with openssl: "sha256="
// and the lower-case hex HMAC-SHA256 of the body as it came, nothing else.
func TestSignatureIsOpenSSLHMAC(t *testing.T) {
	t.Parallel()
	openssl := testenv.Tool(t, "openssl")
	r := newReceiver(t, "receiver-secret-for-openssl")
	ob, err := Open(Options{Dir: t.TempDir(), Receivers: []Receiver{
		{URL: r.srv.URL + "/hook", Secret: r.secret, Events: []string{"delivered"}, TLS: r.tlsConfig()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ob.Add(Event{Event: "delivered", QueueID: "Q7", Recipient: "pat@example.net", Code: 250})
	waitFor(t, "the delivered event", func() bool { return len(r.got()) == 1 })
	r.mu.Lock()
	body, sig := r.taken[0][0], r.taken[0][1]
	r.mu.Unlock()
	cmd := exec.Command(openssl, "dgst", "-sha256", "-hmac", string(r.secret), "-r")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl dgst: %v", err)
	}
	mac, _, _ := strings.Cut(string(out), " ")
	if want := "sha256=" + strings.TrimSpace(mac); sig != want || len(mac) != 64 {
		t.Fatalf("X-Sealgate-Signature %q, openssl computes %q", sig, want)
	}
}
