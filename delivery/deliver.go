package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mailtext"
)

// envelope is a Delivery's addresses after checking.
type envelope struct {
	from     wireAddr
	rcpts    []wireAddr // parallel to Delivery.Rcpts
	pending  []int      // indexes of recipients still to deliver
	needUTF8 bool       // SMTPUTF8 is required (RFC 6531 §3.4)
}

// Deliver implements mail.Courier: it sends d to the next hop of d.Domain
// and returns one Outcome per recipient, in the order of d.Rcpts.
func (c *Client) Deliver(ctx context.Context, d *mail.Delivery) []mail.Outcome {
	start := time.Now()
	out := make([]mail.Outcome, len(d.Rcpts))
	for i, r := range d.Rcpts {
		out[i].Rcpt = r.Addr
	}
	env := prepare(d, out)
	if len(env.pending) > 0 {
		provider := c.deliver(ctx, d, env, out)
		c.reach.learn(d, out)
		c.cfg.Providers.count(d.Domain, provider, out, env.pending)
	}
	took := time.Since(start)
	for i := range out {
		out[i].Duration = took
	}
	return out
}

// wireAddr is an address checked by addr.Wire, ready for MAIL or RCPT.
type wireAddr struct {
	s    string // canonical form, safe between < and >
	utf8 bool   // contains non-ASCII (needs SMTPUTF8)
}

// parseAddr checks an address for the wire (see addr.Wire).
func parseAddr(a string) (wireAddr, error) {
	s, nonASCII, err := addr.Wire(a)
	return wireAddr{s: s, utf8: nonASCII}, err
}

// prepare checks the sender and recipients; unsafe addresses fail
// permanently here and are never sent.
func prepare(d *mail.Delivery, out []mail.Outcome) *envelope {
	env := &envelope{rcpts: make([]wireAddr, len(d.Rcpts))}
	if d.From != "" {
		w, err := parseAddr(d.From)
		if err != nil {
			e := localError(true, "5.1.7", CmdCheck, "", "unsafe sender address", err)
			for i := range out {
				setFailure(&out[i], e)
			}
			return env
		}
		env.from = w
	}
	env.needUTF8 = env.from.utf8
	for i, r := range d.Rcpts {
		w, err := parseAddr(r.Addr)
		if err != nil {
			setFailure(&out[i], localError(true, "5.1.3", CmdCheck, "", "unsafe recipient address", err))
			continue
		}
		env.rcpts[i] = w
		env.pending = append(env.pending, i)
		env.needUTF8 = env.needUTF8 || w.utf8
	}
	if d.SMTPUTF8 && !env.needUTF8 {
		env.needUTF8 = !isASCIIBytes(header(d.Body))
	}
	return env
}

// header returns the header section of a message as the one header parser
// reads it; for a message whose header does not read, all of it, so that
// the SMTPUTF8 check errs on the side of asking for SMTPUTF8.
func header(body []byte) []byte {
	h, err := mailtext.ParseHeader(body)
	if err != nil {
		return body
	}
	return h.Section()
}

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// deliver routes, connects and runs the transaction. A pooled connection
// that turns out to be dead before the server said anything is replaced
// once by another. It returns the provider of the first next hop, "" when
// there is none.
func (c *Client) deliver(ctx context.Context, d *mail.Delivery, env *envelope, out []mail.Outcome) string {
	hops, err := c.plan(ctx, d, true)
	if err != nil {
		if d.RequireTLS && err.TLSFailure() {
			err = requireTLSError(err.Host, err)
		}
		failAll(out, env.pending, err)
		return ""
	}
	name := ""
	if len(hops) > 0 {
		name = providerOf(hops[0].host)
	}
	var prov *provider
	perConn := 0 // messages per connection, when shaped
	urgent := c.shaper != nil && !c.marketing(d)
	if c.shaper != nil && len(hops) > 0 {
		var held *paced
		if prov, perConn, held = c.shaper.acquire(ctx, name, urgent); held != nil {
			failAll(out, env.pending, held.err)
			for _, i := range env.pending {
				out[i].Paced = held.at
			}
			return name
		}
	}
	closedAfter := 0
	for attempt := 0; ; attempt++ {
		s, err := c.session(ctx, hops, attempt > 0)
		if err != nil {
			if d.RequireTLS && (err.Command == CmdTLS || err.Command == "STARTTLS") {
				err = requireTLSError(err.Host, err)
			}
			failAll(out, env.pending, err)
			break
		}
		res := c.transact(ctx, s, txn{d: d, env: env, out: out})
		if res.stale && prov != nil && time.Since(s.idleSince) < c.shaper.quickClose {
			closedAfter = s.sent
		}
		c.finishShaped(s, res.reusable, perConn)
		if !res.stale || attempt > 0 {
			break
		}
	}
	if prov != nil {
		c.shaper.release(prov, urgent, throttled(out), closedAfter)
	}
	return name
}

// marketing reports whether d comes from a client that sends campaigns.
func (c *Client) marketing(d *mail.Delivery) bool {
	return c.shaper.cfg.Marketing != nil && d.Client != "" && c.shaper.cfg.Marketing(d.Client)
}

// throttled reports whether a recipient's reply said the sender goes too
// fast.
func throttled(out []mail.Outcome) bool {
	for _, o := range out {
		if o.Err != nil && throttleReply(o.Code, o.Enhanced) {
			return true
		}
	}
	return false
}

// finishShaped is finish, closing the session politely once it carried
// perConn messages (0: no limit, delivery is not shaped).
func (c *Client) finishShaped(s *session, reusable bool, perConn int) {
	if reusable && perConn > 0 && s.sent >= perConn {
		s.quit()
		c.pool.release(s.dst)
		return
	}
	c.finish(s, reusable)
}

// session returns a ready session to the first hop that gives one: an idle
// pooled one (unless fresh), or a new connection. Hops that planning
// forbade are skipped.
func (c *Client) session(ctx context.Context, hops []hop, fresh bool) (*session, *Error) {
	var last *Error
	for _, h := range hops {
		if h.tls.err != nil {
			last = h.tls.err
			continue
		}
		level := h.tls.level
		dst := h.addr()
		key := fmt.Sprintf("%s|%d|%s", dst, level, h.tls.authKind())
		s, err := c.pool.acquire(ctx, dst, key, !fresh)
		if err != nil {
			return nil, localError(false, "4.4.5", CmdConnect, h.host, "no connection available", err)
		}
		if s != nil {
			s.reused = true
			c.metrics.connect(connectReused)
			return s, nil
		}
		s, last = c.open(ctx, setupRequest{hop: h, level: level, dst: dst, key: key})
		if last == nil {
			return s, nil
		}
		c.pool.release(dst)
		c.log.Debug("next hop failed", slog.String("host", h.host), slog.String("error", last.Error()))
		if ctx.Err() != nil {
			break
		}
	}
	if last == nil {
		last = localError(false, "4.4.4", CmdConnect, "", "no next hop", nil)
	}
	last.Permanent = false // connection-stage failures are retried
	return nil, last
}
