package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/passwd"
)

const e2ePassword = "a long and correct password"

var (
	e2eHashOnce sync.Once
	e2eHash     string
)

// env is one gateway under test with its sink and CA.
type env struct {
	t      *testing.T
	dir    string
	ca     *smtpsink.TestCA
	sink   *smtpsink.Sink
	cfg    *config.Config
	path   string
	gw     *gateway
	smtpAt string // submission listener
}

type envOpts struct {
	sink  smtpsink.Options
	extra string    // YAML appended to the config
	retry string    // retry schedule
	logs  io.Writer // the gateway's operational log; nil discards it
	// before, if set, runs with the gateway's data folder (not yet made)
	// before the gateway starts: a test mounts a file system there.
	before func(data string)
}

// writeTLSFiles writes the gateway's certificate (for gw.example.org,
// 127.0.0.1 and names), its key and the test CA into e.dir.
func (e *env) writeTLSFiles(names ...string) {
	e.t.Helper()
	e2eHashOnce.Do(func() { e2eHash, _ = passwd.Hash([]byte(e2ePassword)) })
	writePair(e.t, e.dir, e.ca.Leaf(e.t, append([]string{"gw.example.org", "127.0.0.1"}, names...)...))
	if err := os.WriteFile(filepath.Join(e.dir, "ca.pem"), e.ca.CertPEM(), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// gatewayHead is what every test gateway's configuration starts with:
// its name, data folder under dir, a submission listener with STARTTLS
// and AUTH on a free port, its certificate, metrics on a free port and
// the audit log.
func gatewayHead(dir string) string {
	return fmt.Sprintf(`hostname: gw.example.org
data_dir: %[1]s/data
listeners:
  - {name: submission, address: "127.0.0.1:0", tls: starttls, auth: required}
tls: {cert: %[1]s/cert.pem, key: %[1]s/key.pem}
metrics: {listen: "127.0.0.1:0"}
log: {audit_file: %[1]s/audit.log}
`, dir)
}

// writeConfig writes, in dir, a gateway config that routes example.net
// and news.example.org to sinkAddr over verified TLS with the CA; that
// sink is a trusted hop, so PHI may reach it by the tls method. It
// returns the file's path.
func writeConfig(t *testing.T, dir string, ca *smtpsink.TestCA, sinkAddr string, o envOpts) string {
	t.Helper()
	e := &env{t: t, dir: dir, ca: ca}
	e.writeConfig(sinkAddr, o)
	return e.path
}

// writeConfig writes e's config (see writeConfig) for the sink at sinkAddr.
func (e *env) writeConfig(sinkAddr string, o envOpts) {
	e.t.Helper()
	e.writeTLSFiles()
	if o.retry == "" {
		o.retry = "[200ms]"
	}
	yaml := gatewayHead(e.dir) + fmt.Sprintf(`clients:
  - {name: marketing, username: marketing, password_hash: "%[1]s", allowed_senders: ["*@news.example.org"]}
delivery:
  routes: {"example.net": "%[2]s", "news.example.org": "%[2]s"}
  tls: {ca_file: %[3]s/ca.pem, policy: {default: verify}, trusted_hops: ["%[2]s"]}
  retry: {schedule: %[4]s, max_age: 1h}
portal: {base_url: "https://localhost:8443"}
%[5]s`, e2eHash, sinkAddr, e.dir, o.retry, o.extra)
	e.writeYAML(yaml)
}

// writeYAML writes the configuration file e.path.
func (e *env) writeYAML(yaml string) {
	e.t.Helper()
	e.path = filepath.Join(e.dir, "sealgate.yaml")
	if err := os.WriteFile(e.path, []byte(yaml), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func writePair(t *testing.T, dir string, c tls.Certificate) {
	t.Helper()
	kder, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
}

// newGatewayEnv is an env with its folder and CA, nothing started yet.
func newGatewayEnv(t *testing.T) *env {
	return &env{t: t, dir: t.TempDir(), ca: smtpsink.NewTestCA(t)}
}

// newEnv starts a sink and an in-process gateway.
func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	e := newGatewayEnv(t)
	if o.sink.TLS == nil {
		o.sink.TLS = smtpsink.ServerTLS(e.ca.Leaf(t, "localhost", "127.0.0.1"))
	}
	e.sink = smtpsink.Start(t, o.sink)
	e.writeConfig(e.sink.Addr, o)
	e.start(o.logs, o.before)
	return e
}

// start loads e.path, runs before with the data folder (not yet made),
// and runs the gateway in-process, its log to logs (nil: discarded),
// until the test ends.
func (e *env) start(logs io.Writer, before func(data string)) {
	e.t.Helper()
	cfg, err := config.Load(e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.cfg = cfg
	if before != nil {
		before(cfg.DataDir)
	}
	if logs == nil {
		logs = io.Discard
	}
	gw, err := startGateway(cfg, e.path, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.gw, e.smtpAt = gw, gw.smtpd.Addrs()[0].String()
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		gw.close(ctx)
	})
}

// submit sends one message as the marketing client and returns the reply error.
func submit(t *testing.T, address string, ca *smtpsink.TestCA, from string, to []string, msg string) error {
	t.Helper()
	c, err := smtp.DialStartTLS(address, &tls.Config{RootCAs: ca.Pool(), ServerName: "gw.example.org"})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "marketing", e2ePassword)); err != nil {
		return err
	}
	return c.SendMail(from, to, strings.NewReader(msg))
}

func newsMessage(id, to, body string) string {
	return fmt.Sprintf("From: News <news@news.example.org>\r\nTo: %s\r\nSubject: Flu clinic hours\r\nMessage-ID: <%s>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n%s\r\n", to, id, body)
}

func scrape(t *testing.T, e *env) string {
	t.Helper()
	resp, err := http.Get("http://" + e.gw.metrics.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// hasMetricLine reports whether the scraped metrics hold line exactly
// (name, labels and value), so that "… 1" does not match "… 10".
func hasMetricLine(metrics, line string) bool {
	for _, l := range strings.Split(metrics, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// waitMetricLines scrapes until one scrape holds every line (bounded) and
// returns the last scrape; the caller checks it.
func waitMetricLines(t *testing.T, e *env, lines ...string) string {
	t.Helper()
	var metrics string
	holds := func() bool {
		metrics = scrape(t, e)
		for _, l := range lines {
			if !hasMetricLine(metrics, l) {
				return false
			}
		}
		return true
	}
	testenv.Poll(30*time.Second, holds)
	return metrics
}

// wantMetricLines fails the test unless a scrape within a bounded time
// holds every line.
func wantMetricLines(t *testing.T, e *env, lines ...string) {
	t.Helper()
	metrics := waitMetricLines(t, e, lines...)
	for _, l := range lines {
		if !hasMetricLine(metrics, l) {
			t.Errorf("metrics lack %s", l)
		}
	}
}

// messageIDs returns the Message-ID header values of sink messages.
func messageIDs(msgs []smtpsink.Message) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		for _, line := range bytes.Split(m.Data, []byte("\r\n")) {
			if len(line) == 0 {
				break
			}
			if v, ok := bytes.CutPrefix(line, []byte("Message-ID: ")); ok {
				out[string(v)]++
			}
		}
	}
	return out
}
