package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
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
	return newCampaignEnvDelivery(t, extra, "", sink)
}

// newCampaignEnvDelivery is newCampaignEnvSink with more keys of the
// delivery section (indented lines).
func newCampaignEnvDelivery(t *testing.T, extra, delivery string, sink smtpsink.Options) *campaignEnv {
	t.Helper()
	e := newGatewayEnv(t)
	sink.TLS = smtpsink.ServerTLS(e.ca.Leaf(t, "localhost", "127.0.0.1"))
	e.sink = smtpsink.Start(t, sink)
	e.writeTLSFiles("localhost")
	yaml := gatewayHead(e.dir) + fmt.Sprintf(`clients:
  - {name: news, kind: marketing, username: news, password_hash: "%[2]s", allowed_senders: ["*@clinic.example.org"]}
  - {name: ehr, username: ehr, password_hash: "%[2]s", allowed_senders: ["*@clinic.example.org"]}
  - {name: billing, check_suppression: true, username: billing, password_hash: "%[2]s", allowed_senders: ["*@clinic.example.org"]}
delivery:
  routes: {"example.net": "%[3]s", "clinic.example.org": "%[3]s"}
  tls: {ca_file: %[1]s/ca.pem, policy: {default: verify}, trusted_hops: ["%[3]s"]}
  retry: {schedule: [200ms], max_age: 1h}
%[5]s%[4]s`, e.dir, e2eHash, e.sink.Addr, extra, delivery)
	if !strings.Contains(extra, "portal:") {
		yaml += "portal: {base_url: \"https://localhost:8443\"}\n"
	}
	e.writeYAML(yaml)
	e.start(nil, nil)
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
