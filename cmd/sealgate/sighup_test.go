package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// startTLSSerial opens a STARTTLS session to address and returns it with
// the serial of the certificate served.
func startTLSSerial(t *testing.T, address string, ca *smtpsink.TestCA) (*smtp.Client, string) {
	t.Helper()
	var serial string
	c, err := smtp.DialStartTLS(address, &tls.Config{RootCAs: ca.Pool(), ServerName: "gw.example.org",
		VerifyConnection: func(cs tls.ConnectionState) error {
			serial = cs.PeerCertificates[0].SerialNumber.String()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(); err != nil {
		t.Fatal(err)
	}
	return c, serial
}

// TestSIGHUPReloadsTheRunningProcess: the built binary, sent SIGHUP after
// its certificate was renewed, serves the new one to new sessions while a
// session opened before sends its message; sent SIGHUP with a broken
// config, it logs the refusal with file and line and keeps serving.
func TestSIGHUPReloadsTheRunningProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built binary; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	sink := smtpsink.Start(t, smtpsink.Options{})
	ca := smtpsink.NewTestCA(t)
	dir := t.TempDir()
	writePair(t, dir, ca.Leaf(t, "gw.example.org", "127.0.0.1"))
	cfg := crashConfig(t, dir, "127.0.0.1:0", sink.Addr)
	text := strings.Replace(string(mustRead(t, cfg)), "tls: none, auth: none", "tls: starttls, auth: none", 1) +
		"tls: {cert: " + dir + "/cert.pem, key: " + dir + "/key.pem}\n"
	os.WriteFile(cfg, []byte(text), 0o600)
	proc, listen := startProcess(t, bin, cfg)
	defer proc.Process.Kill()

	old, oldSerial := startTLSSerial(t, listen, ca)
	defer old.Close()
	writePair(t, dir, ca.Leaf(t, "gw.example.org", "127.0.0.1"))
	proc.Process.Signal(syscall.SIGHUP)
	newSerial := oldSerial
	testenv.WaitFor(t, 30*time.Second, "the renewed certificate served after SIGHUP", func() bool {
		var c *smtp.Client
		c, newSerial = startTLSSerial(t, listen, ca)
		c.Close()
		return newSerial != oldSerial
	})
	msg := "From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: r\r\n\r\nbody\r\n"
	if err := old.SendMail("lab@clinic.example.org", []string{"dr@example.net"}, strings.NewReader(msg)); err != nil {
		t.Fatalf("the session opened before SIGHUP: %v", err)
	}
	if _, err := sink.Wait(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}

	os.WriteFile(cfg, []byte(text+"bogus_key: 1\n"), 0o600)
	proc.Process.Signal(syscall.SIGHUP)
	var log string
	testenv.WaitForState(t, 30*time.Second, "the refused reload in the log", func() (bool, string) {
		log = string(mustRead(t, cfg+".log"))
		return strings.Contains(log, "reload refused"), log
	})
	if !strings.Contains(log, filepath.Base(cfg)+":") || !strings.Contains(log, "bogus_key") {
		t.Fatalf("no refusal naming the file and key in the log:\n%s", log)
	}
	c, serial := startTLSSerial(t, listen, ca)
	c.Close()
	if serial != newSerial {
		t.Error("a refused reload changed the certificate")
	}
	proc.Process.Signal(syscall.SIGTERM)
	if err := proc.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}
