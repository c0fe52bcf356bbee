package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/passwd"
)

// campaignEnv is a gateway with a marketing client ("news") and a
// transactional one ("ehr"), both sending as *@clinic.example.org, and a
// sink for example.net.
type campaignEnv struct {
	*env
}

func newCampaignEnv(t *testing.T, extra string) *campaignEnv {
	t.Helper()
	return newCampaignEnvSink(t, extra, smtpsink.Options{})
}

// newCampaignEnvSink is newCampaignEnv with a sink that behaves as sink
// says (its TLS is filled in).
func newCampaignEnvSink(t *testing.T, extra string, sink smtpsink.Options) *campaignEnv {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), ca: smtpsink.NewTestCA(t)}
	sink.TLS = smtpsink.ServerTLS(e.ca.Leaf(t, "localhost", "127.0.0.1"))
	e.sink = smtpsink.Start(t, sink)
	e2eHashOnce.Do(func() { e2eHash, _ = passwd.Hash([]byte(e2ePassword)) })
	writePair(t, e.dir, e.ca.Leaf(t, "gw.example.org", "127.0.0.1", "localhost"))
	os.WriteFile(filepath.Join(e.dir, "ca.pem"), e.ca.CertPEM(), 0o600)
	yaml := fmt.Sprintf(`hostname: gw.example.org
data_dir: %[1]s/data
listeners:
  - {name: submission, address: "127.0.0.1:0", tls: starttls, auth: required}
tls: {cert: %[1]s/cert.pem, key: %[1]s/key.pem}
clients:
  - {name: news, kind: marketing, username: news, password_hash: "%[2]s", allowed_senders: ["*@clinic.example.org"]}
  - {name: ehr, username: ehr, password_hash: "%[2]s", allowed_senders: ["*@clinic.example.org"]}
delivery:
  routes: {"example.net": "%[3]s", "clinic.example.org": "%[3]s"}
  tls: {ca_file: %[1]s/ca.pem, policy: {default: verify}, trusted_hops: ["%[3]s"]}
  retry: {schedule: [200ms], max_age: 1h}
log: {audit_file: %[1]s/audit.log}
metrics: {listen: "127.0.0.1:0"}
%[4]s`, e.dir, e2eHash, e.sink.Addr, extra)
	if !strings.Contains(extra, "portal:") {
		yaml += "portal: {base_url: \"https://localhost:8443\"}\n"
	}
	e.path = filepath.Join(e.dir, "sealgate.yaml")
	if err := os.WriteFile(e.path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(e.path)
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	gw, err := startGateway(cfg, e.path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.gw, e.smtpAt = gw, gw.smtpd.Addrs()[0].String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		gw.close(ctx)
	})
	return &campaignEnv{e}
}

// send submits msg over STARTTLS as user and returns the reply error.
func (e *campaignEnv) send(user, from, to, msg string) error {
	return e.sendTo(user, from, []string{to}, msg)
}

// sendTo submits msg to several recipients.
func (e *campaignEnv) sendTo(user, from string, to []string, msg string) error {
	c, err := smtp.DialStartTLS(e.smtpAt, &tls.Config{RootCAs: e.ca.Pool(), ServerName: "gw.example.org"})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, e2ePassword)); err != nil {
		return err
	}
	return c.SendMail(from, to, strings.NewReader(msg))
}

// campaignMessage is a plain newsletter without PHI.
func campaignMessage(id, to string) string {
	return fmt.Sprintf("From: Clinic News <news@clinic.example.org>\r\nTo: %s\r\nSubject: Flu shots this week\r\n"+
		"Message-ID: <%s>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nWalk-in flu shots Monday to Friday.\r\n", to, id)
}

// isSuppressedReply reports whether err is the RCPT refusal for a
// suppressed address: 550 5.7.1 naming the suppression list.
func isSuppressedReply(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == 550 && se.EnhancedCode == smtp.EnhancedCode{5, 7, 1} &&
		strings.Contains(se.Message, "suppression list")
}
