package smtpsink

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const body = "From: a@example.test\r\nSubject: test\r\n\r\nhello\r\n"

func send(t *testing.T, c *smtp.Client, rcpts ...string) error {
	t.Helper()
	return c.SendMail("a@example.test", rcpts, strings.NewReader(body))
}

func TestPlainDelivery(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(t, c, "b@example.test", "c@example.test"); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.From != "a@example.test" || len(m.Rcpts) != 2 || m.TLS || string(m.Data) != body {
		t.Errorf("got %+v", m)
	}
	if s.Count() != 1 || s.Conns() != 1 {
		t.Errorf("count %d conns %d", s.Count(), s.Conns())
	}
}

func TestStartTLSWithTestCA(t *testing.T) {
	t.Parallel()
	ca := NewTestCA(t)
	s := Start(t, Options{TLS: ServerTLS(ca.Leaf(t, "mx.example.test"))})
	c, err := smtp.DialStartTLS(s.Addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "mx.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(t, c, "b@example.test"); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !msgs[0].TLS || msgs[0].TLSVersion < tls.VersionTLS12 {
		t.Errorf("message not received over TLS: %+v", msgs[0])
	}
	if s.Conns() != 1 {
		t.Errorf("conns %d: STARTTLS must not count as a new connection", s.Conns())
	}
}

func TestCertificates(t *testing.T) {
	t.Parallel()
	ca := NewTestCA(t)
	check := func(cert tls.Certificate, name string) error {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return err
		}
		_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: name})
		return err
	}
	if err := check(ca.Leaf(t, "mx.test", "127.0.0.1"), "mx.test"); err != nil {
		t.Errorf("leaf: %v", err)
	}
	if err := check(ca.Leaf(t, "127.0.0.1"), "127.0.0.1"); err != nil {
		t.Errorf("IP leaf: %v", err)
	}
	if err := check(ca.Leaf(t, "mx.test"), "other.test"); err == nil {
		t.Error("wrong name verified")
	}
	if err := check(ca.Expired(t, "mx.test"), "mx.test"); err == nil {
		t.Error("expired certificate verified")
	}
	if err := check(SelfSigned(t, "mx.test"), "mx.test"); err == nil {
		t.Error("self-signed certificate verified")
	}
	if b, _ := pem.Decode(ca.CertPEM()); b == nil || b.Type != "CERTIFICATE" {
		t.Error("CertPEM is not a PEM certificate")
	}
}

func TestReplies(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{
		RcptReply: func(rcpt string) *smtp.SMTPError {
			if strings.HasPrefix(rcpt, "no@") {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no"}
			}
			return nil
		},
		DataReply: func(m *Message) *smtp.SMTPError {
			if len(m.Rcpts) > 1 {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"}
			}
			return nil
		},
	})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var se *smtp.SMTPError
	if err := send(t, c, "no@example.test"); !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("RCPT: got %v, want 550", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := send(t, c, "b@example.test", "c@example.test"); !errors.As(err, &se) || se.Code != 451 {
		t.Errorf("DATA: got %v, want 451", err)
	}
	if s.Count() != 0 {
		t.Errorf("refused messages were recorded: %d", s.Count())
	}
	if _, err := s.Wait(1, 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Errorf("Wait: got %v, want ErrTimeout", err)
	}
}

func TestAuthRequired(t *testing.T) {
	t.Parallel()
	ca := NewTestCA(t)
	s := Start(t, Options{TLS: ServerTLS(ca.Leaf(t, "127.0.0.1")), AuthUser: "u", AuthPass: "p"})
	dial := func() *smtp.Client {
		c, err := smtp.DialStartTLS(s.Addr, &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := dial()
	if err := send(t, c, "b@example.test"); err == nil {
		t.Error("MAIL accepted without AUTH")
	}
	c = dial()
	if err := c.Auth(sasl.NewPlainClient("", "u", "wrong")); err == nil {
		t.Error("wrong password accepted")
	}
	c = dial()
	if err := c.Auth(sasl.NewPlainClient("", "u", "p")); err != nil {
		t.Fatal(err)
	}
	if err := send(t, c, "b@example.test"); err != nil {
		t.Fatal(err)
	}
	if s.Count() != 1 {
		t.Errorf("count %d, want 1", s.Count())
	}
}

func TestExtensionsRecorded(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{DSN: true, SMTPUTF8: true})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("DSN"); !ok {
		t.Fatal("DSN not advertised")
	}
	if err := c.Mail("a@example.test", &smtp.MailOptions{Return: smtp.DSNReturnHeaders, EnvelopeID: "id 1"}); err != nil {
		t.Fatal(err)
	}
	ro := &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyFailure}}
	if err := c.Rcpt("b@example.test", ro); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte(body))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m := s.Messages()[0]
	if m.MailOpts.Return != smtp.DSNReturnHeaders || m.MailOpts.EnvelopeID != "id 1" {
		t.Errorf("mail options: %+v", m.MailOpts)
	}
	if len(m.RcptOpts) != 1 || len(m.RcptOpts[0].Notify) != 1 || m.RcptOpts[0].Notify[0] != smtp.DSNNotifyFailure {
		t.Errorf("rcpt options: %+v", m.RcptOpts)
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	ca := NewTestCA(t)
	s := Start(t, Options{TLS: ServerTLS(ca.Leaf(t, "127.0.0.1")), ImplicitTLS: true})
	c, err := smtp.DialTLS(s.Addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered inside implicit TLS")
	}
	if err := send(t, c, "b@example.test"); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages(); len(m) != 1 || !m[0].TLS {
		t.Errorf("got %+v", m)
	}
}

func TestCloseConns(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Noop(); err != nil {
		t.Fatal(err)
	}
	s.CloseConns()
	if err := c.Noop(); err == nil {
		t.Error("connection still usable after CloseConns")
	}
	if s.MaxActive() != 1 {
		t.Errorf("MaxActive %d, want 1", s.MaxActive())
	}
}
