package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/sealgate/sealgate/internal/testenv"
)

// servedSerial opens a STARTTLS session and returns it with the serial
// number of the certificate the gateway presented.
func servedSerial(t *testing.T, e *env) (*smtp.Client, string) {
	t.Helper()
	var serial string
	c, err := smtp.DialStartTLS(e.smtpAt, &tls.Config{RootCAs: e.ca.Pool(), ServerName: "gw.example.org",
		VerifyConnection: func(cs tls.ConnectionState) error {
			serial = cs.PeerCertificates[0].SerialNumber.String()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(); err != nil { // the handshake happens with the first command
		t.Fatal(err)
	}
	if serial == "" {
		t.Fatal("no server certificate seen")
	}
	return c, serial
}

// TestReloadServesRenewedCertificateAndKeepsSessions: after `sealgate
// reload` a new session gets the renewed certificate while a session
// opened before goes on and sends its message; a broken config on reload
// is refused with its error and the gateway keeps running as it was.
func TestReloadServesRenewedCertificateAndKeepsSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	old, oldSerial := servedSerial(t, e)
	defer old.Close()
	if err := old.Auth(sasl.NewPlainClient("", "marketing", e2ePassword)); err != nil {
		t.Fatal(err)
	}
	writePair(t, e.dir, e.ca.Leaf(t, "gw.example.org", "127.0.0.1"))
	if code, out, errs := runCLI("reload", "--config", e.path); code != 0 || out != "reloaded\n" {
		t.Fatalf("reload: %d %q %q", code, out, errs)
	}
	fresh, newSerial := servedSerial(t, e)
	fresh.Close()
	if newSerial == oldSerial {
		t.Fatalf("after reload the old certificate (serial %s) is still served", oldSerial)
	}
	if got, want := certExpiryMetric(t, e), certNotAfter(t, e.dir); got != want {
		t.Errorf("expiry metric after reload %d, the served certificate's NotAfter %d", got, want)
	}
	if err := old.SendMail("news@news.example.org", []string{"pat@example.net"},
		strings.NewReader(newsMessage("across-reload@news.example.org", "pat@example.net", "x"))); err != nil {
		t.Fatalf("the session opened before the reload failed: %v", err)
	}

	good, _ := os.ReadFile(e.path)
	os.WriteFile(e.path, append(append([]byte{}, good...), "limits:\n  data_timeout: soon\nbogus_key: 1\n"...), 0o600)
	writePair(t, e.dir, e.ca.Leaf(t, "gw.example.org", "127.0.0.1"))
	code, _, errs := runCLI("reload", "--config", e.path)
	if code != 1 || !strings.Contains(errs, "reload not sent") || !strings.Contains(errs, e.path+":") ||
		!strings.Contains(errs, "bogus_key") || !strings.Contains(errs, "limits.data_timeout") {
		t.Fatalf("reload of a broken config: %d %q", code, errs)
	}
	// The gateway itself refuses it too (SIGHUP, or a config broken
	// between the command's read and the gateway's).
	if err := e.gw.reload(); err == nil || !strings.Contains(err.Error(), "bogus_key") {
		t.Fatalf("gateway reload of a broken config: %v", err)
	}
	still, serial := servedSerial(t, e)
	defer still.Close()
	if serial != newSerial {
		t.Error("a refused reload still changed the certificate")
	}
	if err := still.Auth(sasl.NewPlainClient("", "marketing", e2ePassword)); err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}
	audits := map[string]bool{}
	for _, ev := range auditEvents(t, e.cfg.Log.AuditFile) {
		if ev["action"] == "reload" {
			audits[ev["result"].(string)] = true
		}
	}
	if !audits["ok"] {
		t.Errorf("reloads not audited: %v", audits)
	}
}

// certExpiryMetric scrapes the smtp certificate's expiry timestamp.
func certExpiryMetric(t *testing.T, e *env) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^sealgate_tls_certificate_expiry_timestamp_seconds\{use="smtp"\} (\S+)$`).FindStringSubmatch(scrape(t, e))
	if m == nil {
		t.Fatal("no certificate expiry metric")
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return int64(f)
}

// certNotAfter reads dir/cert.pem's expiry.
func certNotAfter(t *testing.T, dir string) int64 {
	t.Helper()
	b, _ := pem.Decode(mustRead(t, filepath.Join(dir, "cert.pem")))
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.NotAfter.Unix()
}

// TestReloadAppliesPolicyAndNamesWhatNeedsRestart: a quarantine rule added
// to the file holds the next message after `sealgate reload`; a changed
// limit, which a reload cannot apply, is named in the log.
func TestReloadAppliesPolicyAndNamesWhatNeedsRestart(t *testing.T) {
	t.Parallel()
	logs := &testenv.Buffer{}
	e := newEnv(t, envOpts{logs: logs})
	text := string(mustRead(t, e.path)) +
		"policy:\n  rules:\n    - {if: {sender: \"hold@news.example.org\"}, then: quarantine}\nlimits: {max_recipients: 7}\n"
	os.WriteFile(e.path, []byte(text), 0o600)
	if code, _, errs := runCLI("reload", "--config", e.path); code != 0 {
		t.Fatalf("reload: %d %q", code, errs)
	}
	if !regexp.MustCompile(`msg="reloaded[^"]*".*restart_needed_for=limits`).MatchString(logs.String()) {
		t.Errorf("the reload log line does not name limits as needing a restart:\n%s", logs.String())
	}
	msg := strings.Replace(newsMessage("after-reload@news.example.org", "pat@example.net", "x"), "news@news", "hold@news", 1)
	if err := submit(t, e.smtpAt, e.ca, "hold@news.example.org", []string{"pat@example.net"}, msg); err != nil {
		t.Fatal(err)
	}
	testenv.WaitForState(t, 30*time.Second, "the message held by the rule added by reload", func() (bool, string) {
		_, list, _ := runCLI("queue", "list", "--config", e.path)
		return strings.Contains(list, "[held by policy]"), list
	})
	if n := e.sink.Count(); n != 0 {
		t.Fatalf("the rule added by reload held the message, but the sink has %d", n)
	}
}
