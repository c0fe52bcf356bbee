package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/sealgate/sealgate/mail"
)

// txn is one mail transaction on a session.
type txn struct {
	d   *mail.Delivery
	env *envelope
	out []mail.Outcome
}

// txnResult says what became of the session.
type txnResult struct {
	reusable bool // the session may go back to the pool
	stale    bool // a pooled session was dead before any reply; nothing was recorded
}

var (
	errNoREQUIRETLS = errors.New("next hop does not satisfy REQUIRETLS")
	errNoSMTPUTF8   = errors.New("next hop does not offer SMTPUTF8")
	errTooBig       = errors.New("message is larger than the next hop accepts")
	errAuthPlain    = errors.New("smarthost does not offer AUTH PLAIN over TLS")
)

// transact runs MAIL, RCPT and DATA for t on s. Cancelling ctx interrupts
// any blocked I/O.
func (c *Client) transact(ctx context.Context, s *session, t txn) txnResult {
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetDeadline(aLongTimeAgo) })
	res := c.run(s, t)
	if !stop() {
		res.reusable = false
	}
	return res
}

func (c *Client) run(s *session, t txn) txnResult {
	if e := c.checkCaps(s, t); e != nil {
		c.failOn(s, t.out, t.env.pending, e)
		return txnResult{reusable: true}
	}
	if err := s.client.Mail(t.env.from.s, mailOptions(s, t)); err != nil {
		if s.reused && (!isReply(err) || replyCode(err) == 421) {
			return txnResult{stale: true}
		}
		c.failOn(s, t.out, t.env.pending, replyError(err, "MAIL", s.hop.host))
		return txnResult{reusable: alive(err) && s.client.Reset() == nil}
	}
	accepted, ok := c.rcpts(s, t)
	if !ok {
		return txnResult{}
	}
	if len(accepted) == 0 {
		return txnResult{reusable: s.client.Reset() == nil}
	}
	return c.data(s, t, accepted)
}

// rcpts sends RCPT for each pending recipient and returns the accepted
// ones; ok is false when the session broke (all remaining recipients then
// have a temporary failure).
func (c *Client) rcpts(s *session, t txn) (accepted []int, ok bool) {
	accepted = make([]int, 0, len(t.env.pending))
	for n, i := range t.env.pending {
		err := s.client.Rcpt(t.env.rcpts[i].s, rcptOptions(s, t.d.Rcpts[i]))
		if err == nil {
			accepted = append(accepted, i)
			continue
		}
		e := replyError(err, "RCPT", s.hop.host)
		if !alive(err) {
			c.failOn(s, t.out, accepted, e)
			c.failOn(s, t.out, t.env.pending[n:], e)
			return nil, false
		}
		c.failOn(s, t.out, []int{i}, e)
	}
	return accepted, true
}

// data sends the message; the reply applies to every accepted recipient.
func (c *Client) data(s *session, t txn, accepted []int) txnResult {
	w, err := s.client.Data()
	if err != nil {
		c.failOn(s, t.out, accepted, replyError(err, "DATA", s.hop.host))
		return txnResult{reusable: alive(err) && s.client.Reset() == nil}
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(c.cfg.DataTimeout))
	if _, err := w.Write(t.d.Body); err != nil {
		c.failOn(s, t.out, accepted, replyError(err, "DATA", s.hop.host))
		return txnResult{}
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		c.failOn(s, t.out, accepted, replyError(err, "DATA", s.hop.host))
		return txnResult{reusable: alive(err)}
	}
	s.sent++
	enhanced := successEnhanced(resp.StatusText)
	for _, i := range accepted {
		c.succeedOn(s, &t.out[i], enhanced)
		t.out[i].DSNPassed = dsnPassed(s, t.d.Rcpts[i])
	}
	// No RSET: after the reply to the final dot the transaction is over
	// and the server's state is clear (RFC 5321 §4.1.1.4), so the session
	// is pooled as is; a dead pooled session is detected at the next MAIL.
	return txnResult{reusable: true}
}

// dsnPassed reports whether r's NOTIFY went on to s: the server announced
// DSN and the list was well formed, so rcptOptions sent it.
func dsnPassed(s *session, r mail.Rcpt) bool {
	return s.has("DSN") && notify(r.Notify) != nil
}

// checkCaps refuses, before MAIL, what the next hop cannot take.
func (c *Client) checkCaps(s *session, t txn) *Error {
	host := s.hop.host
	if t.d.RequireTLS && (!s.verified || !s.has("REQUIRETLS") || !mxAuthentic(s.hop)) {
		return requireTLSError(host, errNoREQUIRETLS)
	}
	if t.env.needUTF8 && !s.has("SMTPUTF8") {
		return localError(true, "5.6.7", CmdCheck, host, "next hop does not support SMTPUTF8, which the message needs", errNoSMTPUTF8)
	}
	if size, ok := s.client.MaxMessageSize(); ok && size > 0 && len(t.d.Body) > size {
		return localError(true, "5.3.4", CmdCheck, host, "message too big for the next hop", errTooBig)
	}
	return nil
}

// mxAuthentic reports whether the hop's name can be trusted for REQUIRETLS
// (RFC 8689 §4.2.1): an MX host from a DNSSEC-validated answer or matched
// by an enforced MTA-STS policy; routes and the smarthost are configured,
// not looked up.
func mxAuthentic(h hop) bool {
	return !h.mx || h.tls.mxSecure || h.tls.enforced() || len(h.tls.tlsa) > 0
}

// requireTLSError is the RFC 8689 §5 failure for a REQUIRETLS message.
func requireTLSError(host string, err error) *Error {
	return localError(true, "5.7.30", CmdCheck, host, "REQUIRETLS support required: no verified TLS to a next hop that offers REQUIRETLS", err)
}

// alive reports whether the session survives err: a reply other than 421
// (which announces that the server closes the connection).
func alive(err error) bool { return isReply(err) && replyCode(err) != 421 }

func replyCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// failOn records e for the recipients idx, reached through s.
func (c *Client) failOn(s *session, out []mail.Outcome, idx []int, e *Error) {
	for _, i := range idx {
		setFailure(&out[i], e)
		setTransport(s, &out[i])
	}
}

// succeedOn records a delivered recipient: the final reply's code (250)
// and enhanced code, never its text (it may carry tracking information).
func (c *Client) succeedOn(s *session, o *mail.Outcome, enhanced string) {
	o.Err, o.Permanent, o.Code, o.Enhanced = nil, false, 250, enhanced
	setTransport(s, o)
	c.metrics.verification.WithLabelValues(o.Verification).Inc()
}

// successEnhanced is the enhanced status code at the start of a 250
// reply's text ("2.0.0 Ok: queued as …"), or "" when there is none.
func successEnhanced(text string) string {
	code, _, _ := strings.Cut(text, " ")
	var ec smtp.EnhancedCode
	if !parseEnhanced(code, &ec) || ec[0] != 2 {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
}

// setTransport records what the transport achieved: how the peer was
// verified (mail.VerifiedNone when it was not) and the cipher.
func setTransport(s *session, o *mail.Outcome) {
	o.RemoteMTA, o.TLSVersion, o.Verified = s.hop.host, s.tlsVersion, s.verified
	o.Verification, o.TLSCipher = string(s.method), s.cipher
	if !s.verified || s.method == "" {
		o.Verification = string(mail.VerifiedNone)
	}
}

// setFailure records e in o.
func setFailure(o *mail.Outcome, e *Error) {
	o.Err, o.Permanent, o.Code, o.Enhanced = e, e.Permanent, e.Code, e.Enhanced
	if e.Host != "" {
		o.RemoteMTA = e.Host
	}
}

// failAll records e for the recipients idx.
func failAll(out []mail.Outcome, idx []int, e *Error) {
	for _, i := range idx {
		setFailure(&out[i], e)
	}
}

// finish returns s to the pool or closes it.
func (c *Client) finish(s *session, reusable bool) {
	if reusable {
		c.pool.put(s)
		return
	}
	s.close()
	c.pool.release(s.dst)
}

// auth authenticates to the smarthost with AUTH PLAIN, only over TLS.
func (c *Client) auth(s *session) *Error {
	if s.tlsVersion == "" || !s.client.SupportsAuth(sasl.Plain) {
		return localError(false, "4.7.4", "AUTH", s.hop.host, "cannot authenticate to the smarthost", errAuthPlain)
	}
	err := s.client.Auth(sasl.NewPlainClient("", c.cfg.SmarthostUser, c.cfg.SmarthostPass))
	if err != nil {
		e := replyError(err, "AUTH", s.hop.host)
		e.Permanent = false // a credentials problem is the operator's to fix, not a bounce
		return e
	}
	return nil
}
