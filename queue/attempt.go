package queue

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// run makes one delivery attempt for an item, with panic recovery: a
// message that crashes its attempt, or whose record is damaged, is
// quarantined, never retried in a loop. Anything else that goes wrong (a
// failed read or write, a DSN that cannot be queued) leaves the message
// scheduled for a later attempt: never quarantined, never forgotten.
func (q *Queue) run(it *item) {
	defer q.inflight.Done()
	defer func() { <-q.sem }()
	defer func() {
		if r := recover(); r != nil {
			q.m.panics.Inc()
			q.log.Error("panic in delivery", slog.String("queue_id", it.env.ID), slog.String("panic", panicText(r)))
			q.quarantineItem(it, fmt.Errorf("panic during delivery"))
		}
	}()
	done, err := q.attempt(it)
	switch {
	case err == nil:
		q.reschedule(it, done)
	case isDamaged(err):
		q.quarantineItem(it, err)
	default:
		q.log.Warn("delivery postponed", slog.String("queue_id", it.env.ID), slog.String("error", err.Error()))
		q.later(it)
	}
}

// quarantineItem copies a message aside and takes it out of the queue. If
// the copy cannot be written (a full disk), the message stays queued and
// is tried again later.
func (q *Queue) quarantineItem(it *item, cause error) {
	if err := q.quarantine(it.env.ID, cause); err != nil {
		q.later(it)
		return
	}
	q.reschedule(it, true)
}

// later puts an item back for another attempt after the backoff.
func (q *Queue) later(it *item) {
	now := time.Now()
	if !it.cur.NextAttempt.After(now) {
		it.cur.NextAttempt = now.Add(Backoff(q.cfg.Schedule, max(it.cur.Attempts, 1)))
	}
	q.reschedule(it, false)
}

// attempt delivers the pending recipients of one message. It reports
// whether the message is finished (and removed from the spool).
func (q *Queue) attempt(it *item) (bool, error) {
	if err := q.releaseDSN(it); err != nil {
		return false, err
	}
	if it.body == nil {
		_, body, err := q.sp.readMessage(it.env.ID)
		if err != nil {
			return false, err
		}
		it.body = body
	}
	now := time.Now()
	wrote := q.recordAttempt(it, now)
	groups := q.groups(it)
	var held pacing
	for i, group := range groups {
		q.deliverGroup(it, group, &held)
		if i < len(groups)-1 && held.tried {
			// Written before the next domain is tried, so a crash while
			// it is does not deliver this one's recipients again.
			if err := q.saveState(it, false); err != nil {
				q.log.Error("state write failed", slog.String("queue_id", it.env.ID), slog.String("error", err.Error()))
			}
		}
	}
	q.unpace(it, &held)
	q.expire(it, time.Now(), held.rcpts)
	if it.cur.Pending() {
		it.body = nil // keep memory small while waiting
		if !held.tried && !wrote {
			return false, nil // nothing tried, nothing on disk to correct
		}
		if err := q.saveState(it, false); err != nil {
			q.log.Error("state write failed", slog.String("queue_id", it.env.ID), slog.String("error", err.Error()))
		}
		return false, nil
	}
	return true, q.finish(it)
}

// pacing collects, over one attempt, the recipients the courier did not
// try because the gateway's traffic shaping held them (mail.Outcome.Paced).
type pacing struct {
	rcpts map[int]bool // recipient index → held
	until time.Time    // the earliest time one was booked to come back
	tried bool         // some recipient was tried for real
}

// unpace takes back what recordAttempt counted for a message whose
// recipients were only held by pacing, and brings its next attempt
// forward to the time the shaper booked: pacing is the gateway's own
// doing, neither a delivery attempt nor a reason to back off.
func (q *Queue) unpace(it *item, held *pacing) {
	if len(held.rcpts) == 0 {
		return
	}
	if !held.tried {
		it.cur.Attempts--
		it.cur.NextAttempt = held.until
		return
	}
	if held.until.Before(it.cur.NextAttempt) {
		it.cur.NextAttempt = held.until
	}
}

// recordAttempt counts the attempt and moves the next attempt time before
// any connection is made, so a crash mid-delivery becomes a normal delayed
// retry. The first attempt of a fresh message is not written: if the
// process dies during it, the message is simply tried again on restart.
// It reports whether it wrote the state.
func (q *Queue) recordAttempt(it *item, now time.Time) bool {
	it.cur.Attempts++
	it.cur.NextAttempt = now.Add(Backoff(q.cfg.Schedule, it.cur.Attempts))
	for i := range it.cur.Rcpts {
		if it.cur.Rcpts[i].Status == mail.StatusPending {
			it.cur.Rcpts[i].Attempts++
		}
	}
	if it.cur.Attempts == 1 {
		return false
	}
	if err := q.saveState(it, false); err != nil {
		q.log.Error("state write failed", slog.String("queue_id", it.env.ID), slog.String("error", err.Error()))
	}
	return true
}

// groups splits the pending recipients by domain, in envelope order.
func (q *Queue) groups(it *item) [][]int {
	byDomain := map[string]int{}
	var out [][]int
	for i, r := range it.cur.Rcpts {
		if r.Status != mail.StatusPending {
			continue
		}
		d := domainOf(r.Addr)
		g, ok := byDomain[d]
		if !ok {
			g = len(out)
			byDomain[d] = g
			out = append(out, nil)
		}
		out[g] = append(out[g], i)
	}
	return out
}

func domainOf(addr string) string {
	return strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
}

// deliverGroup hands one domain's recipients to the courier and applies
// the outcomes; those held by pacing are noted in held, not applied.
func (q *Queue) deliverGroup(it *item, idx []int, held *pacing) {
	env := it.env
	d := &mail.Delivery{
		QueueID: env.ID, From: env.From, Domain: domainOf(env.Rcpts[idx[0]].Addr), Client: env.Client,
		Body: it.body, SMTPUTF8: env.SMTPUTF8, EightBit: env.EightBit,
		RequireTLS: env.RequireTLS, Ret: env.Ret, EnvID: env.EnvID, TLS: env.TLS,
		Policy: env.Policy,
	}
	for _, i := range idx {
		d.Rcpts = append(d.Rcpts, env.Rcpts[i])
	}
	start := time.Now()
	outcomes := q.cfg.Courier.Deliver(q.ctx, d)
	q.m.latency.Observe(time.Since(start).Seconds())
	byAddr := make(map[string]mail.Outcome, len(outcomes))
	for _, o := range outcomes {
		byAddr[o.Rcpt] = o
	}
	for _, i := range idx {
		o, ok := byAddr[env.Rcpts[i].Addr]
		if !ok {
			o = mail.Outcome{Rcpt: env.Rcpts[i].Addr, Err: fmt.Errorf("no outcome from courier")}
		}
		if o.Err != nil && !o.Paced.IsZero() {
			held.hold(it, i, o.Paced)
			q.m.paced.Inc()
			continue
		}
		held.tried = true
		q.apply(it, i, o)
	}
}

// hold notes recipient i as held by pacing until at, and takes back the
// attempt recordAttempt counted for it.
func (held *pacing) hold(it *item, i int, at time.Time) {
	if held.rcpts == nil {
		held.rcpts = map[int]bool{}
	}
	held.rcpts[i] = true
	if held.until.IsZero() || at.Before(held.until) {
		held.until = at
	}
	if r := &it.cur.Rcpts[i]; r.Attempts > 0 {
		r.Attempts--
	}
}

// apply records one recipient's outcome.
func (q *Queue) apply(it *item, i int, o mail.Outcome) {
	r := &it.cur.Rcpts[i]
	r.Updated = time.Now()
	r.Code, r.Enhanced, r.RemoteMTA, r.TLSVersion = o.Code, o.Enhanced, o.RemoteMTA, o.TLSVersion
	r.Method, r.TLSCipher, r.TLSVerify = o.Method, o.TLSCipher, o.Verification
	r.DSNPassed = o.Err == nil && o.DSNPassed
	result := string(o.Result())
	switch o.Result() {
	case mail.ResultDelivered:
		r.Status, r.LastError, r.RemoteText, r.LocalReason = mail.StatusDelivered, "", "", ""
	case mail.ResultBounced:
		r.Status, r.LastError = mail.StatusFailed, o.Err.Error()
		r.RemoteText, r.LocalReason = mail.ReplyText(o.Err), mail.LocalReason(o.Err)
	default:
		r.LastError = o.Err.Error()
		r.RemoteText, r.LocalReason = mail.ReplyText(o.Err), mail.LocalReason(o.Err)
	}
	q.m.deliveries.WithLabelValues(result, tlsLabel(o.TLSVersion)).Inc()
	if o.Err != nil {
		q.m.failures.WithLabelValues(result, failureStage(o.Err)).Inc()
	}
	if q.cfg.Audit != nil {
		q.cfg.Audit.Delivery(it.env, o, r.Attempts)
	}
	// Recipients are told apart by their place in the envelope (1-based,
	// "rcpt=2 rcpts=3"), never by address.
	attrs := []slog.Attr{slog.String("queue_id", it.env.ID), slog.Int("rcpt", i+1), slog.Int("rcpts", len(it.cur.Rcpts)),
		slog.String("result", result), slog.Int("attempt", r.Attempts), slog.String("remote", o.RemoteMTA), slog.String("tls", o.TLSVersion)}
	if o.Code != 0 {
		attrs = append(attrs, slog.Int("code", o.Code))
	}
	if o.Enhanced != "" {
		attrs = append(attrs, slog.String("enhanced", o.Enhanced))
	}
	if o.Err != nil {
		attrs = append(attrs, slog.String("reason", logReason(o.Err)))
	}
	// The remote reply's text stays out of the log: stripped of addresses,
	// quotes and numbers it may still name a person (a server that echoes
	// the Subject). The audit record, `queue show` and the DSN carry it.
	q.log.LogAttrs(q.ctx, slog.LevelInfo, "delivery", attrs...)
}

// maxReason bounds the failure reason in a log line.
const maxReason = 300

// logReason is a delivery failure's text as the operational log may carry
// it: couriers keep remote reply text out of Error(), but a word that looks
// like an address, or anything past maxReason, is dropped all the same, and
// control characters are replaced.
func logReason(err error) string {
	words := strings.Fields(err.Error())
	for i, w := range words {
		if strings.ContainsRune(w, '@') {
			words[i] = "[address]"
		}
	}
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, strings.Join(words, " "))
	if len(s) > maxReason {
		s = strings.ToValidUTF8(s[:maxReason], "") + "…"
	}
	return s
}

func tlsLabel(v string) string {
	switch v {
	case "TLS1.2", "TLS1.3":
		return v
	case "":
		return "none"
	}
	return "other"
}

// expire fails the recipients still pending once the message is too old,
// except those pacing held this time (held): they were not tried, and
// are failed only by a real attempt that does not deliver them.
func (q *Queue) expire(it *item, now time.Time, held map[int]bool) {
	if now.Sub(it.env.Received) < q.cfg.MaxAge {
		return
	}
	for i := range it.cur.Rcpts {
		r := &it.cur.Rcpts[i]
		if r.Status == mail.StatusPending && !held[i] {
			r.Status = mail.StatusFailed
			r.Enhanced = "4.4.7"
			r.LastError = "message expired in queue: " + r.LastError
			if a, ok := q.cfg.Audit.(ExpiryAuditor); ok {
				a.Expired(it.env, r.Addr, r.Attempts)
			}
		}
	}
}

// panicText describes a recovered panic value for the log: a runtime
// error's own text (fixed, with numbers and type names only), else only the
// value's type. A value made by code can quote what it was working on,
// here an address or message content.
func panicText(r any) string {
	if e, ok := r.(runtime.Error); ok {
		return e.Error()
	}
	return fmt.Sprintf("%T", r)
}
