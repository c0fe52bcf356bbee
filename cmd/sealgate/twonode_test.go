package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// twoNodes is two gateways, A and B, on loopback, sharing one PostgreSQL
// database and the keys every node of a cluster shares (portal master
// key, unsubscribe key), each with its own data folder, spool, sink and
// portal listener, as docs/operations.md ("Several nodes") says to run
// them. The policy sends PHI to the pickup portal.
type twoNodes struct {
	a, b *campaignEnv
}

func newTwoNodes(t *testing.T) twoNodes {
	t.Helper()
	keys := t.TempDir()
	extra := fmt.Sprintf(`store: %q
portal:
  listen: "127.0.0.1:0"
  base_url: "https://portal.example.org"
  master_key_file: %[2]s/portal.key
  unsubscribe_key_file: %[2]s/unsubscribe.key
  branding: {organization: "Example Clinic"}
encryption: {order: [portal], portal_subject: "You have a secure message"}
`, pgtest.URL(t), keys)
	// A makes the shared keys; B, started after it, reads them.
	return twoNodes{a: newCampaignEnv(t, extra), b: newCampaignEnv(t, extra)}
}

var unsubLinkRE = regexp.MustCompile(`<https://portal\.example\.org/u/([A-Za-z0-9_.-]+)>`)

// TestTwoNodesShareOneStore runs two gateways on one PostgreSQL and
// shows that what a patient sees is one system: a PHI message accepted
// by A is read on B's portal, an unsubscribe on B is honoured at A's
// RCPT, a flood of link opens against A is limited on B too, and a
// message locked by wrong codes on A stays locked on B.
func TestTwoNodesShareOneStore(t *testing.T) {
	t.Parallel()
	n := newTwoNodes(t)
	t.Run("PickupOnOtherNode", func(t *testing.T) { twoNodesPickup(t, n) })
	t.Run("UnsubscribeOnOtherNode", func(t *testing.T) { twoNodesUnsubscribe(t, n) })
	t.Run("FloodLimitedOnBoth", func(t *testing.T) { twoNodesFlood(t, n) })
	t.Run("CodeLockoutOnBoth", func(t *testing.T) { twoNodesLockout(t, n) })
	t.Run("EvidenceOnOtherNode", func(t *testing.T) { twoNodesEvidence(t, n) })
}

// twoNodesEvidence: a message accepted and delivered by A is, on B, not in
// B's audit log; evidence show and export on B name A's audit file and
// the acceptance record's sequence number from the shared evidence index
// (and that the verified record is exported on A), and show exits 1; on A
// show gives the record and names no other node.
func twoNodesEvidence(t *testing.T, n twoNodes) {
	const rcpt = "evi@example.net"
	if err := n.a.send("ehr", "lab@clinic.example.org", rcpt, protMessage); err != nil {
		t.Fatalf("node A refused the message: %v", err)
	}
	qid, seq := acceptedRecord(t, n.a.dir, rcpt)
	for _, e := range []*campaignEnv{n.a, n.b} {
		if err := e.gw.audit.Checkpoint(); err != nil {
			t.Fatal(err)
		}
	}
	where := fmt.Sprintf("message %s to %s is in the audit log of node gw.example.org (%s, record %d, accepted ",
		qid, rcpt, filepath.Join(n.a.dir, "audit.log"), seq)
	var code int
	var out, errs string
	testenv.WaitFor(t, 30*time.Second, "node B's evidence show naming node A with the delivery", func() bool {
		code, out, errs = runCLI("evidence", "show", qid, "--config", n.b.path)
		return strings.Contains(errs, "delivered by portal")
	})
	if code != 1 || out != "" || !strings.Contains(errs, where) || !strings.Contains(errs, "export the verified record on that node") ||
		!strings.Contains(errs, "this node's audit log has no message "+qid) {
		t.Fatalf("node B, evidence show: exit %d, want 1 and %q\nstdout: %s\nstderr: %s", code, where, out, errs)
	}
	code, out, errs = runCLI("evidence", "export", "--since", "1h", "--recipient", rcpt, "--format", "jsonl", "--config", n.b.path)
	if code != 0 || out != "" || !strings.Contains(errs, where) {
		t.Fatalf("node B, evidence export --recipient: exit %d, want 0, no record and %q\nstdout: %s\nstderr: %s", code, where, out, errs)
	}
	code, out, errs = runCLI("evidence", "show", qid, "--config", n.a.path)
	if code != 0 || !strings.Contains(out, qid+" → "+rcpt) || strings.Contains(errs, "is in the audit log of node") {
		t.Fatalf("node A, evidence show: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
}

// twoNodesPickup: a PHI message relayed to A for a recipient without a
// key goes to the portal; A's notice (at A's sink) carries the link; on
// B's portal the link asks for a code, B mails the code (to B's sink),
// and with it B shows the message; the same browser session then reads
// the message and its attachment on A.
func twoNodesPickup(t *testing.T, n twoNodes) {
	if err := n.a.send("ehr", "lab@clinic.example.org", "pat@example.net", protMessage); err != nil {
		t.Fatalf("node A refused the PHI message: %v", err)
	}
	msgs, err := n.a.sink.Wait(1, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	token := checkNotification(t, forRcpt(msgs, "pat@example.net"))
	c := newPortalClient(t, n.b.env)
	status, page := c.get("/m/" + token)
	if status != http.StatusOK || bytes.Contains(page, []byte(protBody)) {
		t.Fatalf("node B, the link: %d (or the message before the code)\n%s", status, page)
	}
	if status, page = c.post("/code/send", page, url.Values{}); status != http.StatusOK {
		t.Fatalf("node B, send code: %d\n%s", status, page)
	}
	codes, err := n.b.sink.Wait(1, 15*time.Second)
	if err != nil {
		t.Fatalf("node B sent no code: %v", err)
	}
	m := codeText.FindSubmatch(codes[0].Data)
	if m == nil || !slices.Contains(codes[0].Rcpts, "pat@example.net") {
		t.Fatalf("node B's code mail to %v:\n%s", codes[0].Rcpts, codes[0].Data)
	}
	if status, page = c.post("/code/verify", page, url.Values{"code": {string(m[1]) + string(m[2])}}); status != http.StatusOK ||
		!bytes.Contains(page, []byte(protBody)) {
		t.Fatalf("node B after the code: %d, message not shown:\n%s", status, page)
	}
	if len(forRcpt(n.b.sink.Messages(), "pat@example.net")) != 1 {
		t.Fatal("node B's sink got more than the code mail for the patient")
	}
	// The session is in the store too: the same browser, sent to A by the
	// load balancer for its next request, is still signed in there.
	onA := newPortalClient(t, n.a.env)
	onA.hc.Jar = c.hc.Jar // cookies are per host, not per port: both nodes get them
	if status, page := onA.get("/message"); status != http.StatusOK || !bytes.Contains(page, []byte(protBody)) {
		t.Fatalf("node A, the session signed in on B: %d, message not shown:\n%s", status, page)
	}
	want, _ := base64.StdEncoding.DecodeString(protAttachmentB64)
	if status, file := onA.get("/attachment/0"); status != http.StatusOK || !bytes.Equal(file, want) {
		t.Fatalf("node A, the attachment: %d, %d bytes, want the %d sent", status, len(file), len(want))
	}
}

// twoNodesUnsubscribe: the unsubscribe link in marketing mail sent
// through A, posted one-click to B's portal, suppresses the address;
// A then refuses marketing to it at RCPT (550 5.7.1) and still delivers
// transactional mail to it.
func twoNodesUnsubscribe(t *testing.T, n twoNodes) {
	const rcpt = "sam@example.net"
	if err := n.a.send("news", "news@clinic.example.org", rcpt, campaignMessage("c1@clinic", rcpt)); err != nil {
		t.Fatalf("node A, marketing before the unsubscribe: %v", err)
	}
	raw := waitDelivered(t, n.a.sink, "c1@clinic")
	lm := unsubLinkRE.FindSubmatch(raw)
	if lm == nil {
		t.Fatalf("no unsubscribe link in node A's marketing mail:\n%s", raw)
	}
	c := newPortalClient(t, n.b.env)
	req, _ := http.NewRequest(http.MethodPost, c.base+"/u/"+string(lm[1]),
		strings.NewReader(url.Values{"List-Unsubscribe": {"One-Click"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, page := c.do(req); status != http.StatusOK || !bytes.Contains(page, []byte(`id="unsubscribed"`)) {
		t.Fatalf("one-click POST on node B: %d\n%s", status, page)
	}
	if err := n.a.send("news", "news@clinic.example.org", rcpt, campaignMessage("c2@clinic", rcpt)); !isSuppressedReply(err) {
		t.Fatalf("node A, marketing after the unsubscribe on B: %v, want 550 5.7.1", err)
	}
	if err := n.a.send("ehr", "reminders@clinic.example.org", rcpt, campaignMessage("t1@clinic", rcpt)); err != nil {
		t.Fatalf("node A, transactional mail after the unsubscribe: %v", err)
	}
	waitDelivered(t, n.a.sink, "t1@clinic")
	for _, m := range n.a.sink.Messages() {
		if bytes.Contains(m.Data, []byte("<c2@clinic>")) {
			t.Fatal("the refused marketing message was delivered")
		}
	}
}

// twoNodesFlood: link opens from one client address count against one
// budget in the store (30 per 15 minutes). One open on B, then A serves
// the remaining 29 and answers 429; B answers that client 429 too, with
// Retry-After, while a client from another network is still served.
func twoNodesFlood(t *testing.T, n twoNodes) {
	const flooder, limit = "127.0.2.9", 30
	open := func(e *env, src string) (int, string) {
		c := newPortalClientFrom(t, e, src)
		c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.hc.Get(c.base + "/m/" + rand.Text())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	if status, _ := open(n.b.env, flooder); status != http.StatusSeeOther {
		t.Fatalf("node B, first made-up link: %d, want 303", status)
	}
	served := 0
	for range 3 * limit { // bounded: the limit is far below
		status, _ := open(n.a.env, flooder)
		if status == http.StatusTooManyRequests {
			break
		}
		if status != http.StatusSeeOther {
			t.Fatalf("node A, made-up link: %d", status)
		}
		served++
	}
	if served != limit-1 {
		t.Fatalf("node A served %d link opens after B's one, want %d (one budget of %d for both nodes)", served, limit-1, limit)
	}
	status, retry := open(n.b.env, flooder)
	if secs, err := strconv.Atoi(retry); status != http.StatusTooManyRequests || err != nil || secs < 1 {
		t.Fatalf("node B after the flood on A: %d, Retry-After %q; want 429 with a delay", status, retry)
	}
	if status, _ := open(n.b.env, "127.0.3.9"); status != http.StatusSeeOther {
		t.Fatalf("node B, a client from another network: %d, want 303", status)
	}
}

// twoNodesLockout: wrong codes for a message on A use up its attempts
// (5) for every node: on B, the right code mailed by A no longer opens it.
func twoNodesLockout(t *testing.T, n twoNodes) {
	const rcpt = "kim@example.net"
	msg := strings.Replace(protMessage, "To: pat@example.net", "To: "+rcpt, 1)
	if err := n.a.send("ehr", "lab@clinic.example.org", rcpt, msg); err != nil {
		t.Fatalf("node A refused the PHI message: %v", err)
	}
	var mine []smtpsink.Message
	testenv.WaitFor(t, 30*time.Second, "the notice for "+rcpt, func() bool {
		mine = forRcpt(n.a.sink.Messages(), rcpt)
		return len(mine) == 1
	})
	token := checkNotification(t, mine)
	onA := newPortalClient(t, n.a.env)
	_, page := onA.get("/m/" + token)
	if status, p := onA.post("/code/send", page, url.Values{}); status != http.StatusOK {
		t.Fatalf("node A, send code: %d", status)
	} else {
		page = p
	}
	testenv.WaitFor(t, 30*time.Second, "the code mail for "+rcpt, func() bool {
		mine = forRcpt(n.a.sink.Messages(), rcpt)
		return len(mine) == 2
	})
	m := codeText.FindSubmatch(mine[1].Data)
	if m == nil {
		t.Fatalf("no code in node A's code mail:\n%s", mine[1].Data)
	}
	code := string(m[1]) + string(m[2])
	wrong := "00000000"
	if code == wrong {
		wrong = "11111111"
	}
	for range 5 {
		_, page = onA.post("/code/verify", page, url.Values{"code": {wrong}})
	}
	if !bytes.Contains(page, []byte("Too many tries")) {
		t.Fatalf("node A after 5 wrong codes: not locked:\n%s", page)
	}
	onB := newPortalClient(t, n.b.env)
	_, page = onB.get("/m/" + token)
	status, page := onB.post("/code/verify", page, url.Values{"code": {code}})
	if bytes.Contains(page, []byte(protBody)) || !bytes.Contains(page, []byte("Too many tries")) {
		t.Fatalf("node B, the right code for a message locked on A: %d, want the lockout page:\n%s", status, page)
	}
}

// waitDelivered waits for the message with Message-ID id at sink.
func waitDelivered(t *testing.T, sink *smtpsink.Sink, id string) []byte {
	t.Helper()
	var raw []byte
	testenv.WaitFor(t, 30*time.Second, "message "+id+" at the sink", func() bool {
		for _, m := range sink.Messages() {
			if bytes.Contains(m.Data, []byte("<"+id+">")) {
				raw = m.Data
				return true
			}
		}
		return false
	})
	return raw
}
