package main

import (
	"bytes"
	"context"
	"crypto/tls"
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

	gomessage "github.com/emersion/go-message"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/encrypt"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/portal/box"
	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/store"
	"github.com/sealgate/sealgate/tlsrpt"
)

// spoolTap is the queue's Submit as the wiring hands it on, keeping a
// copy of what each writer submitted.
type spoolTap struct {
	q   *queue.Queue
	mu  sync.Mutex
	got map[string]mail.Generated // by queue ID
}

func (s *spoolTap) Submit(ctx context.Context, g mail.Generated) (string, error) {
	id, err := s.q.Submit(ctx, g)
	if err == nil {
		s.mu.Lock()
		s.got[id] = g
		s.mu.Unlock()
	}
	return id, err
}

func (s *spoolTap) byOrigin(origin string) (mail.Generated, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.got {
		if g.Origin == origin {
			return g, true
		}
	}
	return mail.Generated{}, false
}

// stuckCourier defers every delivery (the next hop answers 451), except
// that gone.example bounces; it counts attempts.
type stuckCourier struct {
	mu       sync.Mutex
	attempts int
}

func (c *stuckCourier) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	c.mu.Lock()
	c.attempts++
	c.mu.Unlock()
	var out []mail.Outcome
	for _, r := range d.Rcpts {
		o := mail.Outcome{Rcpt: r.Addr, Err: errTempFail, Code: 451, Enhanced: "4.4.1"}
		if d.Domain == "gone.example" {
			o = mail.Outcome{Rcpt: r.Addr, Err: errPermFail, Permanent: true, Code: 550, Enhanced: "5.1.1"}
		}
		out = append(out, o)
	}
	return out
}

func (c *stuckCourier) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.attempts }

type courierErr string

func (e courierErr) Error() string { return string(e) }

const (
	errTempFail = courierErr("451 4.4.1 try again later")
	errPermFail = courierErr("550 5.1.1 no such user")
)

// Every kind of mail sealgate writes itself — the portal's notice, code
// and reply, a TLS report and a DSN — enters the spool and is there after
// the process dies: a copy of the spool taken while the gateway runs (what
// kill -9 leaves) delivers each of them, byte for byte, and each is a
// well-formed message that go-message reads, its top fields present once.
func TestGeneratedMailSurvivesCrashWellFormed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	key := bytes.Repeat([]byte{9}, 32)
	stuck := &stuckCourier{}
	q1, err := queue.New(queue.Config{Dir: filepath.Join(dir, "spool"), Key: key, Courier: stuck, Hostname: "gw.example.org",
		Schedule: []time.Duration{time.Hour}, MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := q1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q1.Close(ctx)
	tap := &spoolTap{q: q1, got: map[string]mail.Generated{}}

	// The portal: a code, then a reply, through the site as a patient uses it.
	cfg := config.Default(filepath.Join(dir, "portal"))
	cfg.Portal.Listen = "127.0.0.1:0"
	st, base := servePortal(t, cfg, tap)
	portalCodeAndReply(t, tap, st, base)

	// The encryptor's notice for a recipient whose message waits on the portal.
	c, err := encrypt.New(encrypt.Config{Order: []string{encrypt.MethodPortal}, Portal: box.New(st), Next: stuck,
		Notices: tap, Notice: encrypt.Notice{BaseURL: base, Organization: "Example Clinic", Hostname: "gw.example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	if out := c.Deliver(ctx, &mail.Delivery{QueueID: "Q9", From: "dr@clinic.example", Domain: "home.example",
		Rcpts: []mail.Rcpt{{Addr: "pat@home.example"}}, Body: []byte(pickupMessage),
		Policy: mail.PolicySummary{PHI: true, Action: "encrypt"}}); out[0].Err != nil {
		t.Fatalf("portal hand-off: %v", out[0].Err)
	}

	// A TLS report by mail.
	rep := &tlsrpt.Report{OrganizationName: "Example Clinic", ReportID: "r1@gw.example.org"}
	rep.DateRange.Start, rep.DateRange.End = time.Unix(1700000000, 0).UTC(), time.Unix(1700086400, 0).UTC()
	err = tlsrpt.Send(ctx, tlsrpt.SendRequest{Report: rep, Domain: "partner.test", Submitter: "gw.example.org",
		From: "noreply-tlsrpt@gw.example.org", RUA: []*url.URL{{Scheme: "mailto", Opaque: "tlsrpt@partner.test"}},
		Mailer: queueMailer{q: tap}})
	if err != nil {
		t.Fatal(err)
	}

	// A bounce: the queue writes the DSN into its own spool.
	if _, err := q1.Enqueue(ctx, &mail.Envelope{From: "dr@clinic.example", Client: "ehr",
		Rcpts: []mail.Rcpt{{Addr: "nobody@gone.example"}}}, []byte(pickupMessage)); err != nil {
		t.Fatal(err)
	}

	want := map[string]bool{mail.OriginPortal: true, mail.OriginPortalReply: true, mail.OriginPortalNotice: true,
		mail.OriginTLSReport: true, mail.OriginDSN: true}
	testenv.WaitFor(t, 30*time.Second, "every generated message spooled and tried once", func() bool {
		list := q1.List()
		for _, in := range list {
			if in.Running || in.State.Attempts == 0 {
				return false
			}
		}
		return len(list) == 5 && stuck.count() == 6
	})

	// What kill -9 leaves: the spool as it is on disk now.
	crashed := filepath.Join(dir, "crashed")
	if err := os.CopyFS(crashed, os.DirFS(filepath.Join(dir, "spool"))); err != nil {
		t.Fatal(err)
	}
	up := &recordCourier{}
	q2, err := queue.New(queue.Config{Dir: crashed, Key: key, Courier: up, Hostname: "gw.example.org",
		Schedule: []time.Duration{10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := q2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q2.Close(ctx)
	if n := q2.Flush(); n != 5 {
		t.Fatalf("the recovered spool holds %d messages to flush, want 5", n) // as an operator would, not to wait an hour
	}
	testenv.WaitFor(t, 30*time.Second, "the recovered spool delivered", func() bool { return len(q2.List()) == 0 })

	up.mu.Lock()
	defer up.mu.Unlock()
	for _, d := range up.ds {
		origin := d.Policy.Rule
		if d.From == "" {
			origin = mail.OriginDSN
		} else if g, ok := tap.byOrigin(origin); !ok || !bytes.Equal(g.Body, d.Body) {
			t.Errorf("%s: delivered after the crash is not what was submitted", origin)
		}
		if !want[origin] {
			t.Errorf("delivered %q twice or unexpected (client %q)", origin, d.Client)
		}
		delete(want, origin)
		checkWellFormed(t, origin, d.Body)
	}
	if len(want) != 0 {
		t.Errorf("lost in the crash: %v", want)
	}
}

// portalCodeAndReply opens a waiting message as its recipient (a code by
// mail) and replies to it.
func portalCodeAndReply(t *testing.T, tap *spoolTap, st *store.Store, base string) {
	t.Helper()
	ctx := context.Background()
	tok, err := st.Put(ctx, store.Item{ID: "Q1.aa", Sender: "dr@clinic.example", Recipient: "pat@home.example",
		Content: store.Content{Subject: "Results", Text: "All normal."}})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	body := fetch(t, hc, "GET", base+"/m/"+tok, nil)
	body = fetch(t, hc, "POST", base+"/code/send", url.Values{"csrf": {csrfOf(t, body)}})
	var codeMail mail.Generated
	testenv.WaitFor(t, 30*time.Second, "the code mail", func() bool {
		var ok bool
		codeMail, ok = tap.byOrigin(mail.OriginPortal)
		return ok
	})
	code := regexp.MustCompile(`code is (\d{4}) (\d{4})`).FindSubmatch(codeMail.Body)
	if code == nil {
		t.Fatalf("no code in %s", codeMail.Body)
	}
	body = fetch(t, hc, "POST", base+"/code/verify", url.Values{"csrf": {csrfOf(t, body)}, "code": {string(code[1]) + string(code[2])}})
	fetchReply(t, hc, base, csrfOf(t, body), "Thank you, doctor")
	if _, ok := tap.byOrigin(mail.OriginPortalReply); !ok {
		t.Fatal("the reply was not spooled")
	}
}

// checkWellFormed parses msg with go-message: the top fields once each,
// every part readable.
func checkWellFormed(t *testing.T, what string, msg []byte) {
	t.Helper()
	e, err := gomessage.Read(bytes.NewReader(msg))
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type"} {
		if n := len(e.Header.Values(k)); n != 1 {
			t.Errorf("%s: %s present %d times", what, k, n)
		}
	}
	if _, err := time.Parse(time.RFC1123Z, e.Header.Get("Date")); err != nil {
		t.Errorf("%s: Date %q: %v", what, e.Header.Get("Date"), err)
	}
	if id := e.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") || !strings.Contains(id, "@") {
		t.Errorf("%s: Message-ID %q", what, id)
	}
	err = e.Walk(func(_ []int, p *gomessage.Entity, err error) error {
		if err != nil || p.MultipartReader() != nil {
			return err
		}
		_, err = bytes.NewBuffer(nil).ReadFrom(p.Body)
		return err
	})
	if err != nil {
		t.Errorf("%s: parts: %v", what, err)
	}
}
