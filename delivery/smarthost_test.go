package delivery

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
)

func TestSmarthostAuth(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	cert := ca.Leaf(t, "127.0.0.1")
	for _, implicit := range []bool{false, true} {
		sink := smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(cert), ImplicitTLS: implicit,
			AuthUser: "relay", AuthPass: "s3cret"})
		c := newTestClient(t, Config{Smarthost: sink.Addr, SmarthostUser: "relay", SmarthostPass: "s3cret",
			SmarthostImplicitTLS: implicit, RootCAs: ca.Pool(), Routes: map[string]string{"other.test": "127.0.0.1:1"}})
		out := deliver(t, c, newDelivery("b@partner.test"))
		wantOK(t, out)
		if !out[0].Verified || sink.Count() != 1 {
			t.Errorf("implicit=%v: outcome %+v, count %d", implicit, out[0], sink.Count())
		}
	}
}

func TestSmarthostWrongPasswordIsTemporary(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	sink := smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(ca.Leaf(t, "127.0.0.1")),
		AuthUser: "relay", AuthPass: "s3cret"})
	c := newTestClient(t, Config{Smarthost: sink.Addr, SmarthostUser: "relay", SmarthostPass: "wrong", RootCAs: ca.Pool()})
	e := wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], false, "")
	if e.Command != "AUTH" || e.Code != 535 {
		t.Errorf("error %+v", e)
	}
}

// A route wins over the smarthost, as transport maps win over relayhost.
func TestRouteWinsOverSmarthost(t *testing.T) {
	t.Parallel()
	routed := smtpsink.Start(t, smtpsink.Options{})
	smart := smtpsink.Start(t, smtpsink.Options{})
	c := newTestClient(t, Config{Smarthost: smart.Addr, Routes: routeTo(routed)})
	wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	d := newDelivery("c@other.test")
	d.Domain = "other.test"
	wantOK(t, deliver(t, c, d))
	if rcptsOf(routed) != "b@partner.test" || rcptsOf(smart) != "c@other.test" {
		t.Errorf("routed got %q, smarthost got %q", rcptsOf(routed), rcptsOf(smart))
	}
}

// Credentials never go to a smarthost that is not verified over TLS.
func TestSmarthostCredentialsNeedVerifiedTLS(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]smtpsink.Options{
		"plaintext":   {AuthUser: "relay", AuthPass: "s3cret"},
		"self-signed": {TLS: smtpsink.ServerTLS(smtpsink.SelfSigned(t, "127.0.0.1")), AuthUser: "relay", AuthPass: "s3cret"},
	} {
		sink := smtpsink.Start(t, opts)
		c := newTestClient(t, Config{Smarthost: sink.Addr, SmarthostUser: "relay", SmarthostPass: "s3cret"})
		wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], false, "")
		if sink.Count() != 0 {
			t.Errorf("%s: delivered without verified TLS", name)
		}
	}
}

// fakeServer answers a scripted plaintext dialogue on loopback: for each
// command line read, it writes the reply of the first matching prefix.
func fakeServer(t *testing.T, greeting string, replies map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = conn.Write([]byte(greeting))
		r := bufio.NewReader(conn)
		for range 20 {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			verb, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			reply, ok := replies[strings.ToUpper(verb)]
			if !ok {
				reply = "502 5.5.1 unknown\r\n"
			}
			_, _ = conn.Write([]byte(reply))
		}
	}()
	return ln.Addr().String()
}

// Replies sent in plaintext together with the STARTTLS go-ahead could be
// taken as answers inside TLS; the session is refused instead.
func TestSTARTTLSInjectionRefused(t *testing.T) {
	t.Parallel()
	addr := fakeServer(t, "220 fake\r\n", map[string]string{
		"EHLO":     "250-fake\r\n250 STARTTLS\r\n",
		"STARTTLS": "220 go ahead\r\n250 injected\r\n",
	})
	c := newTestClient(t, Config{Routes: map[string]string{"partner.test": addr}, DefaultTLS: mail.TLSEncrypt})
	e := wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], false, "4.7.5")
	if !errors.Is(e, errPipelinedTLS) {
		t.Errorf("error %v, want errPipelinedTLS", e)
	}
}

// A greeting refusal is a temporary connection failure, not a bounce.
func TestGreetingRefused(t *testing.T) {
	t.Parallel()
	addr := fakeServer(t, "554 5.7.1 go away\r\n", nil)
	c := newTestClient(t, Config{Routes: map[string]string{"partner.test": addr}})
	e := wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], false, "")
	if e.Code != 554 || e.Command != CmdConnect {
		t.Errorf("error %+v", e)
	}
}
