package delivery

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
)

// patientAddr is what a remote server quotes in its reply texts here; it
// must never appear in Error() or in the operational log.
const patientAddr = "jane.doe@patient.test"

// refusingSTARTTLS is a plaintext SMTP server that offers STARTTLS and
// refuses it with a reply quoting an address, then takes mail in the clear.
func refusingSTARTTLS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); serveRefusingSTARTTLS(c) }()
		}
	}()
	return ln.Addr().String()
}

func serveRefusingSTARTTLS(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { c.Write([]byte(s + "\r\n")) }
	say("220 fake.partner.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-fake.partner.test")
			say("250 STARTTLS")
		case cmd == "STARTTLS":
			say("454 4.7.0 TLS not available for <" + patientAddr + ">")
		case cmd == "DATA":
			say("354 go ahead")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			say("250 2.0.0 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 2.0.0 ok")
		}
	}
}

// A refused STARTTLS quotes the remote reply text in the underlying error;
// neither the delivery error nor the debug log may carry it.
func TestRefusedSTARTTLSReplyTextNotInErrorOrLog(t *testing.T) {
	t.Parallel()
	addr := refusingSTARTTLS(t)
	var logs testenv.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newTestClient(t, Config{Routes: map[string]string{"partner.test": addr}, Logger: log})

	d := newDelivery("b@partner.test")
	d.TLS = mail.TLSEncrypt
	o := deliver(t, c, d)[0]
	if o.Err == nil {
		t.Fatal("TLSEncrypt delivered without TLS")
	}
	if strings.Contains(o.Err.Error(), patientAddr) {
		t.Errorf("delivery error carries the remote reply text: %q", o.Err.Error())
	}

	d = newDelivery("b@partner.test")
	d.TLS = mail.TLSMay // falls back to plaintext, logging the TLS failure
	wantOK(t, deliver(t, c, d))

	if !strings.Contains(logs.String(), "opportunistic TLS failed") {
		t.Fatalf("no fallback log line; log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), patientAddr) {
		t.Errorf("operational log carries the remote reply text:\n%s", logs.String())
	}
}

// Error() names the code of a wrapped remote reply, never its text, for
// every form in which the reply can be wrapped.
func TestErrorHidesWrappedRemoteText(t *testing.T) {
	t.Parallel()
	text := "5.1.1 <" + patientAddr + ">: mailbox unknown"
	cases := map[string]error{
		"smtp":        &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: text},
		"textproto":   &textproto.Error{Code: 454, Msg: text},
		"protocol":    textproto.ProtocolError("short response: 55 " + text),
		"wrapped":     errors.Join(errors.New("x"), &smtp.SMTPError{Code: 550, Message: text}),
		"protoError":  protoError(&textproto.Error{Code: 454, Msg: "4.7.0 " + text}),
		"replyErrorP": replyError(textproto.ProtocolError("invalid response code: "+text), "RCPT", "mx.partner.test"),
	}
	for name, cause := range cases {
		e := localError(false, "4.4.2", "RCPT", "mx.partner.test", "connection failed during the session", cause)
		if got := e.Error(); strings.Contains(got, patientAddr) {
			t.Errorf("%s: Error() = %q carries the remote text", name, got)
		}
	}
	e := localError(false, "4.7.4", CmdTLS, "mx.partner.test", "STARTTLS refused",
		protoError(&textproto.Error{Code: 454, Msg: "4.7.0 " + text}))
	if got := e.Error(); !strings.Contains(got, "454") || !strings.Contains(got, "STARTTLS refused") {
		t.Errorf("Error() = %q, want the local description and the remote code", got)
	}
	plain := localError(false, "4.4.1", CmdConnect, "mx.partner.test", "could not connect", errors.New("connection refused"))
	if got := plain.Error(); !strings.Contains(got, "connection refused") {
		t.Errorf("Error() = %q lost a local cause", got)
	}
}
