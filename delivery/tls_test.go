package delivery

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
)

func TestVerifiedSTARTTLSViaRoute(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	sink := smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(ca.Leaf(t, "127.0.0.1"))})
	c := newTestClient(t, Config{Routes: routeTo(sink), RootCAs: ca.Pool()})
	d := newDelivery("b@partner.test", "c@partner.test")
	d.TLS = mail.TLSVerify
	out := deliver(t, c, d)
	wantOK(t, out)
	for _, o := range out {
		if !o.Verified || o.TLSVersion != "TLS1.3" || o.RemoteMTA != "127.0.0.1" {
			t.Errorf("outcome %+v: want verified TLS1.3 from 127.0.0.1", o)
		}
	}
	m := sink.Messages()
	if len(m) != 1 || !m[0].TLS || string(m[0].Data) != testBody || m[0].From != "a@clinic.test" || len(m[0].Rcpts) != 2 {
		t.Fatalf("sink got %+v", m)
	}
}

// The certificate is checked against the MX host name, not the IP dialled.
func TestVerifyUsesMXName(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	sink := smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(ca.Leaf(t, "mx.partner.test"))})
	res := &fakeResolver{
		mx:    map[string][]*net.MX{"partner.test": {{Host: "mx.partner.test.", Pref: 10}}},
		hosts: map[string][]string{"mx.partner.test": {"127.0.0.1"}},
	}
	c := newTestClient(t, Config{Resolver: res, Port: sinkPort(t, sink), RootCAs: ca.Pool(),
		TLSPolicy: map[string]mail.TLSLevel{"Partner.Test": mail.TLSVerify}})
	out := deliver(t, c, newDelivery("b@partner.test"))
	wantOK(t, out)
	if !out[0].Verified || out[0].RemoteMTA != "mx.partner.test" {
		t.Errorf("outcome %+v", out[0])
	}
}

func TestVerifyRefusesBadCertificates(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	certs := map[string]tls.Certificate{
		"self-signed": smtpsink.SelfSigned(t, "127.0.0.1"),
		"expired":     ca.Expired(t, "127.0.0.1"),
		"wrong name":  ca.Leaf(t, "other.test"),
	}
	for name, cert := range certs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sink := smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(cert)})
			c := newTestClient(t, Config{Routes: routeTo(sink), RootCAs: ca.Pool()})
			d := newDelivery("b@partner.test")
			d.TLS = mail.TLSVerify
			e := wantFail(t, deliver(t, c, d)[0], false, "4.7.5")
			if e.Command != CmdTLS || !e.TLSFailure() {
				t.Errorf("command %q, want %q", e.Command, CmdTLS)
			}
			if sink.Count() != 0 {
				t.Errorf("sink received %d messages over an unverified connection", sink.Count())
			}
		})
	}
}

// TLSMay uses unverified TLS with a self-signed certificate (Verified=false),
// and TLSEncrypt does the same.
func TestMayAndEncryptAcceptSelfSigned(t *testing.T) {
	t.Parallel()
	for _, level := range []mail.TLSLevel{mail.TLSMay, mail.TLSEncrypt} {
		sink := smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(smtpsink.SelfSigned(t, "127.0.0.1"))})
		c := newTestClient(t, Config{Routes: routeTo(sink), DefaultTLS: level})
		out := deliver(t, c, newDelivery("b@partner.test"))
		wantOK(t, out)
		if out[0].Verified || out[0].TLSVersion == "" {
			t.Errorf("level %d: outcome %+v, want unverified TLS", level, out[0])
		}
		if m := sink.Messages(); len(m) != 1 || !m[0].TLS {
			t.Errorf("level %d: sink got %+v, want one message over TLS", level, m)
		}
	}
}

// A handshake that fails under TLSMay is retried in plaintext on a new
// connection to the same host.
func TestMayFallsBackToPlaintext(t *testing.T) {
	t.Parallel()
	srvTLS := smtpsink.ServerTLS(smtpsink.SelfSigned(t, "127.0.0.1"))
	srvTLS.MinVersion, srvTLS.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	sink := smtpsink.Start(t, smtpsink.Options{TLS: srvTLS})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	out := deliver(t, c, newDelivery("b@partner.test"))
	wantOK(t, out)
	if out[0].TLSVersion != "" {
		t.Errorf("TLS version %q, want plaintext", out[0].TLSVersion)
	}
	if sink.Conns() != 2 || sink.Count() != 1 || sink.Messages()[0].TLS {
		t.Errorf("conns %d count %d: want a failed TLS connection then one plaintext message", sink.Conns(), sink.Count())
	}
	d := newDelivery("b@partner.test")
	d.TLS = mail.TLSEncrypt
	wantFail(t, deliver(t, c, d)[0], false, "4.7.5")
	if sink.Count() != 1 {
		t.Error("TLSEncrypt fell back to plaintext")
	}
}

func TestNoSTARTTLS(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	c := newTestClient(t, Config{Routes: routeTo(sink),
		TLSPolicy: map[string]mail.TLSLevel{"partner.test": mail.TLSNone}})
	wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	d := newDelivery("c@partner.test")
	d.TLS = mail.TLSMay
	wantOK(t, deliver(t, c, d))
	d = newDelivery("d@partner.test")
	d.TLS = mail.TLSEncrypt
	e := wantFail(t, deliver(t, c, d)[0], false, "4.7.4")
	if e.Command != "STARTTLS" || !e.TLSFailure() {
		t.Errorf("command %q", e.Command)
	}
	if got := rcptsOf(sink); got != "b@partner.test,c@partner.test" {
		t.Errorf("sink recipients %q", got)
	}
}

// TLSNone never starts TLS, even when it is offered.
func TestNoneSkipsSTARTTLS(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(smtpsink.SelfSigned(t, "127.0.0.1"))})
	c := newTestClient(t, Config{Routes: routeTo(sink),
		TLSPolicy: map[string]mail.TLSLevel{"partner.test": mail.TLSNone}})
	out := deliver(t, c, newDelivery("b@partner.test"))
	wantOK(t, out)
	if m := sink.Messages(); len(m) != 1 || m[0].TLS || out[0].TLSVersion != "" {
		t.Errorf("sink got %+v, outcome %+v: want plaintext", m, out[0])
	}
}
