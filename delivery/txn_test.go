package delivery

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
)

func reply(code int, ec smtp.EnhancedCode, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: msg}
}

func TestPerRecipientReplies(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{RcptReply: func(rcpt string) *smtp.SMTPError {
		switch {
		case strings.HasPrefix(rcpt, "busy@"):
			return reply(450, smtp.EnhancedCode{4, 2, 1}, "mailbox busy")
		case strings.HasPrefix(rcpt, "nouser@"):
			return reply(550, smtp.EnhancedCode{5, 1, 1}, "no such user nouser@partner.test")
		}
		return nil
	}})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	out := deliver(t, c, newDelivery("busy@partner.test", "ok@partner.test", "nouser@partner.test", "ok2@partner.test"))
	e := wantFail(t, out[0], false, "4.2.1")
	if out[0].Code != 450 || e.Command != "RCPT" {
		t.Errorf("busy: %+v", out[0])
	}
	wantOK(t, []mail.Outcome{out[1], out[3]})
	e = wantFail(t, out[2], true, "5.1.1")
	if out[2].Code != 550 || e.Msg == "" || strings.Contains(e.Error(), "nouser") {
		t.Errorf("nouser: %+v; Error() must not repeat the remote text: %q", out[2], e.Error())
	}
	if got := rcptsOf(sink); got != "ok@partner.test,ok2@partner.test" {
		t.Errorf("sink recipients %q", got)
	}
}

func TestAllRecipientsRefusedKeepsSession(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{RcptReply: func(rcpt string) *smtp.SMTPError {
		if strings.HasPrefix(rcpt, "no@") {
			return reply(550, smtp.EnhancedCode{5, 1, 1}, "no")
		}
		return nil
	}})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	wantFail(t, deliver(t, c, newDelivery("no@partner.test"))[0], true, "5.1.1")
	wantOK(t, deliver(t, c, newDelivery("yes@partner.test")))
	if sink.Conns() != 1 || sink.Count() != 1 {
		t.Errorf("conns %d count %d, want the session reused after RSET", sink.Conns(), sink.Count())
	}
}

func TestDataReplies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code      int
		ec        smtp.EnhancedCode
		permanent bool
		enhanced  string
	}{
		{554, smtp.EnhancedCode{5, 6, 0}, true, "5.6.0"},
		{451, smtp.EnhancedCode{4, 3, 0}, false, "4.3.0"},
	}
	for _, tc := range cases {
		sink := smtpsink.Start(t, smtpsink.Options{
			DataReply: func(*smtpsink.Message) *smtp.SMTPError { return reply(tc.code, tc.ec, "content refused") },
			RcptReply: func(rcpt string) *smtp.SMTPError {
				if strings.HasPrefix(rcpt, "no@") {
					return reply(550, smtp.EnhancedCode{5, 1, 1}, "no")
				}
				return nil
			},
		})
		c := newTestClient(t, Config{Routes: routeTo(sink)})
		out := deliver(t, c, newDelivery("a@partner.test", "no@partner.test", "b@partner.test"))
		for _, i := range []int{0, 2} {
			e := wantFail(t, out[i], tc.permanent, tc.enhanced)
			if e.Command != "DATA" || out[i].Code != tc.code {
				t.Errorf("%d: %+v", tc.code, out[i])
			}
		}
		wantFail(t, out[1], true, "5.1.1")
		if sink.Count() != 0 {
			t.Errorf("%d: sink recorded a refused message", tc.code)
		}
	}
}

func TestRequireTLS(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	good := smtpsink.ServerTLS(ca.Leaf(t, "127.0.0.1"))
	cases := []struct {
		name string
		opts smtpsink.Options
		ok   bool
	}{
		{"verified with REQUIRETLS", smtpsink.Options{TLS: good, RequireTLS: true}, true},
		{"verified without REQUIRETLS", smtpsink.Options{TLS: good}, false},
		{"self-signed with REQUIRETLS", smtpsink.Options{TLS: smtpsink.ServerTLS(smtpsink.SelfSigned(t, "127.0.0.1")), RequireTLS: true}, false},
		{"no STARTTLS", smtpsink.Options{RequireTLS: true}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := smtpsink.Start(t, tc.opts)
			c := newTestClient(t, Config{Routes: routeTo(sink), RootCAs: ca.Pool()})
			d := newDelivery("b@partner.test")
			d.RequireTLS = true
			out := deliver(t, c, d)
			if !tc.ok {
				if e := wantFail(t, out[0], true, "5.7.30"); !e.TLSFailure() {
					t.Errorf("%v is not a TLS failure", e)
				}
				if sink.Count() != 0 {
					t.Error("REQUIRETLS message delivered to a hop that does not satisfy it")
				}
				return
			}
			wantOK(t, out)
			if m := sink.Messages(); len(m) != 1 || !m[0].MailOpts.RequireTLS {
				t.Errorf("sink got %+v, want REQUIRETLS on MAIL", m)
			}
		})
	}
}

func TestDSNParameters(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{DSN: true})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	d := newDelivery("b@partner.test", "c@partner.test")
	d.Ret, d.EnvID = "HDRS", "QID 42+x"
	d.Rcpts[0].Notify = []string{"SUCCESS", "failure"}
	d.Rcpts[0].ORCPT = "rfc822;Orig+1@clinic.test"
	d.Rcpts[1].Notify = []string{"NEVER", "SUCCESS"} // invalid: left out
	wantOK(t, deliver(t, c, d))
	m := sink.Messages()
	if len(m) != 1 {
		t.Fatalf("sink got %d messages", len(m))
	}
	if m[0].MailOpts.Return != smtp.DSNReturnHeaders || m[0].MailOpts.EnvelopeID != "QID 42+x" {
		t.Errorf("MAIL options %+v", m[0].MailOpts)
	}
	r0 := m[0].RcptOpts[0]
	if len(r0.Notify) != 2 || r0.Notify[0] != smtp.DSNNotifySuccess || r0.Notify[1] != smtp.DSNNotifyFailure ||
		r0.OriginalRecipientType != smtp.DSNAddressTypeRFC822 || r0.OriginalRecipient != "Orig+1@clinic.test" {
		t.Errorf("RCPT options %+v", r0)
	}
	if r1 := m[0].RcptOpts[1]; len(r1.Notify) != 0 || r1.OriginalRecipient != "" {
		t.Errorf("invalid NOTIFY was sent: %+v", r1)
	}
}

func TestDSNNotAdvertised(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	d := newDelivery("b@partner.test")
	d.Ret, d.EnvID = "FULL", "q"
	d.Rcpts[0].Notify = []string{"SUCCESS"}
	wantOK(t, deliver(t, c, d))
	m := sink.Messages()[0]
	if m.MailOpts.Return != "" || m.MailOpts.EnvelopeID != "" || len(m.RcptOpts[0].Notify) != 0 {
		t.Errorf("DSN parameters sent to a server without DSN: %+v %+v", m.MailOpts, m.RcptOpts[0])
	}
}

// Regression: go-smtp writes RCPT TO:<%s> unquoted, so an unquoted or
// badly quoted local part could inject ESMTP parameters.
func TestHostileAddressesNeverSent(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{DSN: true})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	hostile := []string{
		`"x> NOTIFY=SUCCESS ORCPT=rfc822;a@evil.test"@partner.test`,
		`x> NOTIFY=SUCCESS ORCPT=rfc822;a@evil.test@partner.test`,
		"x@partner.test>\r\nRCPT TO:<y@evil.test",
		"x@partner.test> NOTIFY=SUCCESS",
	}
	d := newDelivery(append(hostile, "good@partner.test")...)
	out := deliver(t, c, d)
	for i := range hostile {
		e := wantFail(t, out[i], true, "5.1.3")
		if strings.Contains(e.Error(), "evil") || e.TLSFailure() {
			t.Errorf("error text repeats the address or is misclassified: %q", e.Error())
		}
	}
	wantOK(t, out[len(hostile):])
	m := sink.Messages()
	if len(m) != 1 || len(m[0].Rcpts) != 1 || m[0].Rcpts[0] != "good@partner.test" {
		t.Fatalf("sink got %+v", m)
	}
	if o := m[0].RcptOpts[0]; len(o.Notify) != 0 || o.OriginalRecipient != "" {
		t.Errorf("parameters injected: %+v", o)
	}
}

func TestUnsafeSenderFailsAll(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	d := newDelivery("b@partner.test", "c@partner.test")
	d.From = "a@clinic.test> SIZE=1"
	for _, o := range deliver(t, c, d) {
		wantFail(t, o, true, "5.1.7")
	}
	if sink.Conns() != 0 {
		t.Error("connected although nothing could be sent")
	}
}

func TestNullSender(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	d := newDelivery("b@partner.test")
	d.From = ""
	wantOK(t, deliver(t, c, d))
	if m := sink.Messages(); len(m) != 1 || m[0].From != "" {
		t.Errorf("sink got %+v", m)
	}
}

func TestSMTPUTF8(t *testing.T) {
	t.Parallel()
	for _, offered := range []bool{false, true} {
		sink := smtpsink.Start(t, smtpsink.Options{SMTPUTF8: offered})
		c := newTestClient(t, Config{Routes: routeTo(sink)})
		d := newDelivery("jöhn@partner.test")
		d.SMTPUTF8 = true
		out := deliver(t, c, d)
		if !offered {
			wantFail(t, out[0], true, "5.6.7")
			if sink.Count() != 0 {
				t.Error("UTF-8 address sent without SMTPUTF8")
			}
			continue
		}
		wantOK(t, out)
		if m := sink.Messages(); len(m) != 1 || !m[0].MailOpts.UTF8 || m[0].Rcpts[0] != "jöhn@partner.test" {
			t.Errorf("sink got %+v", m)
		}
	}
}

// UTF-8 in the header of an SMTPUTF8 message needs the extension too; an
// ASCII-only message with SMTPUTF8 set does not.
func TestSMTPUTF8Header(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	d := newDelivery("b@partner.test")
	d.SMTPUTF8 = true
	wantOK(t, deliver(t, c, d))
	d.Body = []byte("Subject: grüße\r\n\r\nbody\r\n")
	wantFail(t, deliver(t, c, d)[0], true, "5.6.7")
	// UTF-8 in the body only: the header is what counts.
	d.Body = []byte("Subject: hi\r\n\r\ngrüße\r\n")
	wantOK(t, deliver(t, c, d))
	// A header that does not read (mailtext.ParseHeader) counts as all of
	// the message: it may hide header fields in what follows.
	d.Body = []byte("Subject: hi\r\nno field\r\n\r\ngrüße\r\n")
	wantFail(t, deliver(t, c, d)[0], true, "5.6.7")
	if sink.Count() != 2 {
		t.Errorf("count %d", sink.Count())
	}
}

// 421 means the server is closing the session: every recipient of the
// transaction is deferred and the connection is not pooled.
func TestReply421EndsSession(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{RcptReply: func(rcpt string) *smtp.SMTPError {
		if strings.HasPrefix(rcpt, "b@") {
			return reply(421, smtp.EnhancedCode{4, 3, 2}, "shutting down")
		}
		return nil
	}})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	out := deliver(t, c, newDelivery("a@partner.test", "b@partner.test", "c@partner.test"))
	for _, o := range out {
		if wantFail(t, o, false, "4.3.2"); o.Code != 421 {
			t.Errorf("%s: code %d", o.Rcpt, o.Code)
		}
	}
	wantOK(t, deliver(t, c, newDelivery("d@partner.test")))
	if sink.Conns() != 2 || sink.Count() != 1 {
		t.Errorf("conns %d, messages %d", sink.Conns(), sink.Count())
	}
}

// A message larger than the advertised SIZE is refused before MAIL.
func TestMessageTooBig(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{MaxBytes: 50})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], true, "5.3.4")
	d := newDelivery("c@partner.test")
	d.Body = []byte("Subject: x\r\n\r\nsmall\r\n")
	wantOK(t, deliver(t, c, d))
	if m := sink.Messages(); len(m) != 1 || m[0].MailOpts.Size != int64(len(d.Body)) {
		t.Errorf("sink got %+v, want SIZE=%d on MAIL", m, len(d.Body))
	}
}
