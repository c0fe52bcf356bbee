package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	gomessage "github.com/emersion/go-message"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/tlsrpt"
)

// downList is the destinations' answer to RCPT: gone@example.net does not
// exist (550 5.1.1), and an address on the list is deferred (451).
type downList struct {
	mu   sync.Mutex
	down map[string]bool
}

func (d *downList) set(down bool, addrs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range addrs {
		d.down[a] = down
	}
}

func (d *downList) reply(rcpt string) *smtp.SMTPError {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case rcpt == "gone@example.net":
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	case d.down[rcpt]:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	return nil
}

// roadRecord is the part of an audit line the road test reads.
type roadRecord struct {
	Event   string   `json:"event"`
	QueueID string   `json:"queue_id"`
	Client  string   `json:"client"`
	Rcpt    string   `json:"rcpt"`
	Rcpts   []string `json:"rcpts"`
	Result  string   `json:"result"`
	Origin  string   `json:"origin"`
}

// roadKind is one kind of mail sealgate writes itself, known by its origin
// and recipient.
type roadKind struct{ origin, rcpt string }

var roadKinds = []roadKind{
	{mail.OriginDSN, "lab@clinic.example.org"},
	{mail.OriginPortalNotice, "sam@bad.example"},
	{mail.OriginPortal, "pat@bad.example"}, // a one-time code
	{mail.OriginPortalReply, "lab@clinic.example.org"},
	{mail.OriginTLSReport, "tlsrpt@example.net"},
}

// roadTrail is what the audit log says about one kind: the queue IDs of
// its accepted records, and per queue ID the results of its deliveries.
type roadTrail struct {
	accepted []string
	results  map[string][]string
	clients  map[string]string
}

func readRoadTrail(t *testing.T, path string, k roadKind) roadTrail {
	t.Helper()
	tr := roadTrail{results: map[string][]string{}, clients: map[string]string{}}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var r roadRecord
		if json.Unmarshal([]byte(line), &r) != nil || r.Origin != k.origin {
			continue
		}
		switch {
		case r.Event == "accepted" && len(r.Rcpts) == 1 && r.Rcpts[0] == k.rcpt:
			tr.accepted = append(tr.accepted, r.QueueID)
			tr.clients[r.QueueID] = r.Client
		case r.Event == "delivery" && r.Rcpt == k.rcpt:
			tr.results[r.QueueID] = append(tr.results[r.QueueID], r.Result)
		}
	}
	return tr
}

// deferred returns the queue IDs of this kind that were deferred at least once.
func (tr roadTrail) deferred() []string {
	var ids []string
	for _, id := range tr.accepted {
		for _, res := range tr.results[id] {
			if res == "deferred" {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids
}

// Every kind of mail sealgate writes itself takes the road of any message
// through a running gateway: a DSN, a portal notice, a portal code, a
// portal reply and a TLS report are each accepted into the spool with
// their origin in the audit log, deferred while their destination answers
// 451, still in the spool after the gateway stops, and delivered once by a
// gateway started again on the same folders, to real SMTP receivers, each
// exactly once, their every audit record carrying their origin. The DSN
// carries none of the message's PHI in its header or its text.
func TestGeneratedMailRoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	down := &downList{down: map[string]bool{}}
	down.set(true, "lab@clinic.example.org", "sam@bad.example", "tlsrpt@example.net")
	e := startProtEnv(t, protOptions{goodRcpt: down.reply, badRcpt: down.reply})
	auditPath := filepath.Join(e.dir, "audit.log")

	// A reply, written on the portal by pat@, who got the notice and a code.
	token := e.portalNotice(t, "pat@bad.example")
	c := newPortalClient(t, e.env)
	_, page := c.get("/m/" + token)
	if status, p := c.post("/code/send", page, url.Values{}); status != http.StatusOK {
		t.Fatalf("send code: %d\n%s", status, p)
	} else {
		page = p
	}
	code := waitCode(t, e.bad)
	if status, p := c.post("/code/verify", page, url.Values{"code": {code}}); status != http.StatusOK {
		t.Fatalf("verify code: %d", status)
	} else {
		page = p
	}
	replyThrough(t, c, page)
	// A second code, asked for from another browser while pat@'s
	// destination is down.
	down.set(true, "pat@bad.example")
	c2 := newPortalClient(t, e.env)
	_, page = c2.get("/m/" + token)
	if status, _ := c2.post("/code/send", page, url.Values{}); status != http.StatusOK {
		t.Fatalf("send the second code: %d", status)
	}
	// A DSN: gone@ does not exist.
	e.send(t, "gone@example.net")
	// A portal notice for sam@.
	e.send(t, "sam@bad.example")
	// A TLS report by mail, handed to the queue as the reporter does.
	rep := &tlsrpt.Report{OrganizationName: "Example Clinic", ReportID: "road@gw.example.org"}
	rep.DateRange.Start, rep.DateRange.End = time.Unix(1700000000, 0).UTC(), time.Unix(1700086400, 0).UTC()
	if err := tlsrpt.Send(ctx, tlsrpt.SendRequest{Report: rep, Domain: "example.net", Submitter: "gw.example.org",
		From: "noreply-tlsrpt@gw.example.org", RUA: []*url.URL{{Scheme: "mailto", Opaque: "tlsrpt@example.net"}},
		Mailer: queueMailer{q: e.gw.queue}}); err != nil {
		t.Fatal(err)
	}

	ids := map[roadKind]string{}
	testenv.WaitFor(t, 20*time.Second, "every generated message accepted and deferred", func() bool {
		for _, k := range roadKinds {
			d := readRoadTrail(t, auditPath, k).deferred()
			if len(d) != 1 {
				return false
			}
			ids[k] = d[0]
		}
		return true
	})
	e.gw.close(ctx)
	before := len(e.good.Messages()) + len(e.bad.Messages())

	down.set(false, "lab@clinic.example.org", "sam@bad.example", "tlsrpt@example.net", "pat@bad.example")
	e.start(e.logs, nil)
	testenv.WaitFor(t, 20*time.Second, "every generated message delivered after the restart", func() bool {
		for _, k := range roadKinds {
			if count(readRoadTrail(t, auditPath, k).results[ids[k]], "delivered") == 0 {
				return false
			}
		}
		return true
	})
	if after := len(e.good.Messages()) + len(e.bad.Messages()); after-before != len(roadKinds) {
		t.Errorf("%d messages reached the receivers after the restart, want %d", after-before, len(roadKinds))
	}

	for _, k := range roadKinds {
		t.Run(k.origin, func(t *testing.T) {
			tr := readRoadTrail(t, auditPath, k)
			id := ids[k]
			if n := count(tr.accepted, id); n != 1 || tr.clients[id] != mail.GeneratedClient {
				t.Errorf("accepted %d times, client %q; want once, client %q", n, tr.clients[id], mail.GeneratedClient)
			}
			if res := tr.results[id]; count(res, "delivered") != 1 || res[len(res)-1] != "delivered" || count(res, "deferred") == 0 {
				t.Errorf("audited results %v: want deferrals, then one delivery", res)
			}
		})
	}
	checkRoadDSN(t, forRcpt(e.good.Messages(), "lab@clinic.example.org"))
	if n := len(forRcpt(e.good.Messages(), "tlsrpt@example.net")); n != 1 {
		t.Errorf("%d TLS reports delivered, want 1", n)
	}
	if n := len(forRcpt(e.bad.Messages(), "sam@bad.example")); n != 1 {
		t.Errorf("%d portal notices for sam@ delivered, want 1", n)
	}
	if n := len(forRcpt(e.bad.Messages(), "pat@bad.example")); n != 3 {
		t.Errorf("pat@ got %d messages, want the notice and two codes", n)
	}
}

// checkRoadDSN finds, among the messages to the sender, the one reply and
// the one DSN; the DSN says what failed and nothing of the message in its
// header or its text.
func checkRoadDSN(t *testing.T, msgs []smtpsink.Message) {
	t.Helper()
	var dsns, replies []smtpsink.Message
	for _, m := range msgs {
		if m.From == "" {
			dsns = append(dsns, m)
		} else if bytes.Contains(m.Data, []byte("Thank you, see you Monday")) {
			replies = append(replies, m)
		}
	}
	if len(replies) != 1 || len(dsns) != 1 {
		t.Fatalf("the sender got %d replies and %d DSNs, want one each", len(replies), len(dsns))
	}
	d := dsns[0].Data
	for _, w := range []string{protBody, protAttachmentB64, "labs.csv", "carcinoma"} {
		if bytes.Contains(d, []byte(w)) {
			t.Errorf("the DSN carries %q", w)
		}
	}
	ent, err := gomessage.Read(bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	if s := ent.Header.Get("Subject"); s != "Undelivered mail" {
		t.Errorf("DSN subject %q", s)
	}
	var text []byte
	ent.Walk(func(_ []int, p *gomessage.Entity, _ error) error {
		if ct, _, _ := p.Header.ContentType(); ct == "text/plain" {
			text, _ = io.ReadAll(p.Body)
		}
		return nil
	})
	if !bytes.Contains(text, []byte("<gone@example.net>: failed (5.1.1)")) || bytes.Contains(text, []byte("biopsy")) {
		t.Errorf("the DSN's text:\n%s", text)
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
