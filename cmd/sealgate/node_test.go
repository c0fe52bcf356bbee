package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/cluster"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/control"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/queue"
)

// deferringSink is the receiving MTA: it answers 451 to every recipient
// until up is set.
func deferringSink(t *testing.T) (*smtpsink.Sink, *atomic.Bool) {
	up := &atomic.Bool{}
	sink := smtpsink.Start(t, smtpsink.Options{RcptReply: func(string) *smtp.SMTPError {
		if up.Load() {
			return nil
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "not now"}
	}})
	return sink, up
}

// clusterFiles writes a node's certificate and key, issued by ca for
// 127.0.0.1, and the CA, into dir; it returns the cluster section.
func clusterFiles(t *testing.T, dir string, ca *smtpsink.TestCA, listen string) string {
	t.Helper()
	sub := filepath.Join(dir, "cluster")
	os.MkdirAll(sub, 0o700)
	writePair(t, sub, ca.Leaf(t, "127.0.0.1"))
	os.WriteFile(filepath.Join(sub, "ca.pem"), ca.CertPEM(), 0o600)
	return fmt.Sprintf("cluster:\n  listen: %q\n  tls: {cert: %[2]s/cert.pem, key: %[2]s/key.pem, ca: %[2]s/ca.pem}\n", listen, sub)
}

// nodeConfig is a loopback relay for the ehr network client delivering
// example.net to the sink, with a cluster section.
func nodeConfig(t *testing.T, dir, sink, clusterYAML string) string {
	t.Helper()
	path := crashConfig(t, dir, "127.0.0.1:0", sink)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(b), `metrics: {listen: ""}`, `metrics: {listen: "127.0.0.1:0"}`, 1) +
		"log: {audit_file: " + dir + "/audit.log}\n" + clusterYAML
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startNode starts an in-process gateway from a config file.
func startNode(t *testing.T, path string) *gateway {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(path+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(path + ".log")
			t.Logf("log of %s:\n%s", path, lastLines(string(b), 40))
		}
	})
	gw, err := startGateway(cfg, path, slog.New(slog.NewTextHandler(logf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeNode(gw) })
	return gw
}

// lastLines is the end of a log.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func closeNode(gw *gateway) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gw.close(ctx)
}

// relayLoad sends n messages to a relay listener over a few sessions and
// returns their Message-IDs; every one was answered 250.
func relayLoad(t *testing.T, addr string, n int) []string {
	t.Helper()
	const sessions = 4
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := s; i < n; i += sessions {
				ids[i] = fmt.Sprintf("<drain-%d-%d@clinic.example.org>", i, time.Now().UnixNano())
				msg := fmt.Sprintf("From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: opening hours\r\nMessage-ID: %s\r\n\r\nLoad test message %d.\r\n", ids[i], i)
				if err := c.SendMail("lab@clinic.example.org", []string{"dr@example.net"}, strings.NewReader(msg)); err != nil {
					errs <- fmt.Errorf("message %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

// greeting reads what an SMTP listener says to a new connection.
func greeting(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	n, _ := c.Read(buf)
	return string(buf[:n])
}

func readyz(t *testing.T, gw *gateway) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + gw.metrics.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// deliveredOnce waits until the sink holds every one of ids, then checks
// that none came twice.
func deliveredOnce(t *testing.T, sink *smtpsink.Sink, ids []string) {
	t.Helper()
	testenv.WaitFor(t, 60*time.Second, "every message at the sink", func() bool { return sink.Count() >= len(ids) })
	got := messageIDs(sink.Messages())
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("%s delivered %d times, want once", id, got[id])
		}
	}
	if len(got) != len(ids) {
		t.Errorf("%d distinct messages at the sink, want %d", len(got), len(ids))
	}
}

// Node A takes 200 messages for an MTA that defers, is drained with a
// short deadline towards node B over mutual TLS: it answers 421 and
// /readyz 503, hands every message over and ends with an empty spool; B
// delivers each exactly once when the MTA comes up. A peer with a
// certificate from another CA is refused, and A stays drained across a
// restart until resumed.
func TestDrainHandsSpoolToPeer(t *testing.T) {
	t.Parallel()
	sink, up := deferringSink(t)
	clusterCA := smtpsink.NewTestCA(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	b := startNode(t, nodeConfig(t, dirB, sink.Addr, clusterFiles(t, dirB, clusterCA, "127.0.0.1:0")))
	pathA := nodeConfig(t, dirA, sink.Addr, strings.Replace(clusterFiles(t, dirA, clusterCA, ""), "  listen: \"\"\n", "", 1))
	a := startNode(t, pathA)
	peer := b.cluster.Addr().String()

	const total = 200
	ids := relayLoad(t, a.smtpd.Addrs()[0].String(), total)
	if n := a.queue.Counts().Messages; n != total {
		t.Fatalf("node A holds %d messages, want %d", n, total)
	}

	st, err := control.Dial(controlSocket(a.cfg)).Drain(300*time.Millisecond, peer)
	if err != nil || st.State != control.NodeDraining {
		t.Fatalf("drain: %+v, %v", st, err)
	}
	if g := greeting(t, a.smtpd.Addrs()[0].String()); !strings.HasPrefix(g, "421 4.3.2 ") {
		t.Fatalf("draining node greets %q, want 421 4.3.2", g)
	}
	if code, body := readyz(t, a); code != http.StatusServiceUnavailable || !strings.Contains(body, "drain") {
		t.Fatalf("draining node's readyz: %d %q, want 503 naming the drain", code, body)
	}
	testenv.WaitFor(t, 60*time.Second, "node A drained", func() bool { return a.node.Status().State == control.NodeDrained })
	if st := a.node.Status(); st.Spool.Messages != 0 || st.HandedOff != total {
		t.Fatalf("node A after the drain: %+v, want an empty spool and %d handed off", st, total)
	}
	if n := b.queue.Counts().Messages; n != total {
		t.Fatalf("node B holds %d messages, want %d", n, total)
	}
	if m := scrape(t, &env{gw: a}); !hasMetricLine(m, `sealgate_node_state{state="drained"} 1`) ||
		!hasMetricLine(m, fmt.Sprintf("sealgate_queue_handed_off_total %d", total)) {
		t.Error("node A's metrics do not show the drain")
	}

	// A node of another cluster is not served.
	other := smtpsink.NewTestCA(t)
	stranger := other.Leaf(t, "127.0.0.1")
	if err := handOne(peer, cluster.Auth{Cert: &stranger, CA: clusterCA.Pool()}); err == nil {
		t.Fatal("node B took a hand-off from a certificate outside the cluster CA")
	}

	up.Store(true)
	b.queue.Flush()
	deliveredOnce(t, sink, ids)

	// Drained survives a restart; resume brings the node back.
	closeNode(a)
	a2 := startNode(t, pathA)
	if st := a2.node.Status(); st.State != control.NodeDrained {
		t.Fatalf("after restart node A is %s, want drained", st.State)
	}
	if g := greeting(t, a2.smtpd.Addrs()[0].String()); !strings.HasPrefix(g, "421 4.3.2 ") {
		t.Fatalf("drained node after restart greets %q", g)
	}
	if _, err := control.Dial(controlSocket(a2.cfg)).Resume(); err != nil {
		t.Fatal(err)
	}
	if code, body := readyz(t, a2); code != http.StatusOK {
		t.Fatalf("resumed node's readyz: %d %q", code, body)
	}
	if g := greeting(t, a2.smtpd.Addrs()[0].String()); !strings.HasPrefix(g, "220 ") {
		t.Fatalf("resumed node greets %q", g)
	}
}

// handOne dials a hand-off listener and offers one message.
func handOne(addr string, auth cluster.Auth) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := cluster.Dial(ctx, addr, auth)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Send(ctx, handedFixture())
}

func handedFixture() queue.Handed {
	env := &mail.Envelope{ID: queue.NewID(), From: "lab@clinic.example.org", Received: time.Now(),
		Rcpts: []mail.Rcpt{{Addr: "dr@example.net"}}}
	return queue.Handed{Env: env, State: &mail.State{Version: 1, Rcpts: []mail.RcptState{{Addr: "dr@example.net", Status: mail.StatusPending}}},
		Body: []byte("Subject: x\r\n\r\nnot from the cluster\r\n")}
}

// While the node drains, the HTTP send API answers 503 (draining) and
// sends nothing; once resumed it takes mail again.
func TestDrainingAPIAnswers503(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	ctl := control.Dial(controlSocket(a.cfg))
	if _, err := ctl.Drain(time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	msg := map[string]any{"from": "news@news.example.org", "to": []string{"pat@example.net"},
		"subject": "Flu clinic hours", "text": "We open at 8."}
	if code, body, _ := a.post(t, msg); code != http.StatusServiceUnavailable || errCode(body) != "draining" {
		t.Fatalf("API while draining: %d %v, want 503 draining", code, body)
	}
	// Nothing queued: the drain ends at once, and the node stays out.
	testenv.WaitFor(t, 30*time.Second, "drained", func() bool {
		st, err := ctl.NodeStatus()
		return err == nil && st.State == control.NodeDrained
	})
	if code, body, _ := a.post(t, msg); code != http.StatusServiceUnavailable || errCode(body) != "draining" {
		t.Fatalf("API when drained: %d %v, want 503 draining", code, body)
	}
	if _, err := ctl.Resume(); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := a.post(t, msg); code != http.StatusAccepted {
		t.Fatalf("API after resume: %d %v, want 202", code, body)
	}
	if _, err := a.sink.Wait(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// A hand-off that cannot be written to the taking node's audit log is not
// acknowledged: the message stays with the draining node until the peer
// can account for it, and then goes over once.
func TestHandOffWaitsForThePeersAuditLog(t *testing.T) {
	t.Parallel()
	sink, up := deferringSink(t)
	clusterCA := smtpsink.NewTestCA(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	b := startNode(t, nodeConfig(t, dirB, sink.Addr, clusterFiles(t, dirB, clusterCA, "127.0.0.1:0")))
	pathA := nodeConfig(t, dirA, sink.Addr, strings.Replace(clusterFiles(t, dirA, clusterCA, ""), "  listen: \"\"\n", "", 1))
	a := startNode(t, pathA)

	const total = 10
	ids := relayLoad(t, a.smtpd.Addrs()[0].String(), total)

	// B's audit log becomes unwritable: its path names a folder.
	logB := filepath.Join(dirB, "audit.log")
	if err := os.Rename(logB, logB+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(logB, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := control.Dial(controlSocket(a.cfg)).Drain(100*time.Millisecond, b.cluster.Addr().String()); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 60*time.Second, "a refused hand-off", func() bool { return a.node.Status().LastError != "" })
	if n := b.queue.Counts().Messages; n != 0 {
		t.Fatalf("node B took %d messages it could not record", n)
	}
	if n := a.queue.Counts().Messages; n != total {
		t.Fatalf("node A holds %d messages after a refused hand-off, want %d", n, total)
	}

	// Once B can record again, the next try hands everything over.
	if err := os.Remove(logB); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(logB+".moved", logB); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 60*time.Second, "node A drained", func() bool { return a.node.Status().State == control.NodeDrained })
	if n := b.queue.Counts().Messages; n != total {
		t.Fatalf("node B holds %d messages, want %d", n, total)
	}
	audit, err := os.ReadFile(logB)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(audit), `"taken-over"`); n < 2*total {
		t.Errorf("node B's audit log has %d take-over records, want a request and a result for each of %d", n, total)
	}
	up.Store(true)
	b.queue.Flush()
	deliveredOnce(t, sink, ids)
}

// TestHealthWhileDraining: a node draining with mail its destination
// defers is healthy for the container's HEALTHCHECK (`sealgate health`
// exits 0 and says draining), so an orchestrator does not kill it mid
// hand-off, while /readyz answers 503 so no new mail comes; once the mail
// is delivered it says drained, still healthy, and ready again after
// resume.
func TestHealthWhileDraining(t *testing.T) {
	t.Parallel()
	up := &atomic.Bool{}
	e := newEnv(t, envOpts{sink: smtpsink.Options{RcptReply: func(string) *smtp.SMTPError {
		if up.Load() {
			return nil
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "not now"}
	}}})
	if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"a@example.net"},
		newsMessage("drain@news.example.org", "a@example.net", "hello")); err != nil {
		t.Fatal(err)
	}
	health := func(want string) {
		t.Helper()
		if code, out, errs := runCLI("health", "--config", e.path); code != 0 || out != want+"\n" {
			t.Fatalf("health: %d %q %q, want 0 and %q", code, out, errs, want)
		}
	}
	health("ready")
	ctl := control.Dial(controlSocket(e.gw.cfg))
	if st, err := ctl.Drain(time.Hour, ""); err != nil || st.State != control.NodeDraining {
		t.Fatalf("drain: %+v %v", st, err)
	}
	health("draining")
	if code, body := readyz(t, e.gw); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Fatalf("draining node's readyz: %d %q, want 503 naming the drain", code, body)
	}
	if e.gw.node.Status().Spool.Messages != 1 {
		t.Fatal("the deferred message left the spool before the destination took it")
	}
	up.Store(true)
	e.gw.queue.Flush()
	testenv.WaitFor(t, 30*time.Second, "drained", func() bool { return e.gw.node.Status().State == control.NodeDrained })
	health("drained")
	if code, _ := readyz(t, e.gw); code != http.StatusServiceUnavailable {
		t.Fatalf("drained node's readyz: %d, want 503", code)
	}
	if _, err := ctl.Resume(); err != nil {
		t.Fatal(err)
	}
	health("ready")
}
