package queue

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sealgate/sealgate/dsn"
	"github.com/sealgate/sealgate/mail"
)

// finish handles a message whose recipients are all in a terminal state.
// If a DSN is owed: the final state is written durably, the DSN is written
// durably (naming this message in DSNOf), DSNDone is written durably, and
// only then is the DSN handed to the scheduler and this message removed.
// A crash anywhere in between sends the DSN once: recovery finds a queued
// DSN through DSNOf (linkDSNs). An error leaves the message scheduled, and
// the next pass goes on from the step that failed.
func (q *Queue) finish(it *item) error {
	rcpts := q.notifications(it)
	if len(rcpts) > 0 && !it.cur.DSNDone {
		if err := q.saveState(it, true); err != nil {
			return fmt.Errorf("final state: %w", err)
		}
		d, err := q.bounce(it, rcpts)
		if err != nil {
			return fmt.Errorf("dsn not queued: %w", err)
		}
		it.dsn = d
		it.cur.DSNDone = true
	}
	if it.dsn != nil {
		if err := q.saveState(it, true); err != nil {
			return fmt.Errorf("dsn queued, not yet recorded: %w", err)
		}
		q.add(it.dsn)
		it.dsn = nil
	}
	if err := q.sp.remove(it.env.ID, false); err != nil {
		q.log.Error("spool remove failed", slog.String("queue_id", it.env.ID), slog.String("error", err.Error()))
	}
	return nil
}

// notifications lists the recipients that get a DSN: failed ones unless
// NOTIFY excludes FAILURE, and delivered ones that asked for SUCCESS when
// the next hop did not take the request on. sealgate never delivers to a
// mailbox: it relays, so its success notice says "relayed", and when the
// next hop announced DSN and received NOTIFY, that hop (or the final one)
// sends the success notice and sealgate sends none, so the sender never
// gets two (RFC 3461 §4.2, §6.2). Never for the null sender and never
// about a DSN (RFC 3461 §6.2, RFC 5321 §4.5.5).
func (q *Queue) notifications(it *item) []dsn.Recipient {
	if it.env.From == "" || it.env.DSN {
		return nil
	}
	var out []dsn.Recipient
	for i, r := range it.cur.Rcpts {
		notify := it.env.Rcpts[i].Notify
		var action, status string
		switch {
		case r.Status == mail.StatusFailed && wants(notify, "FAILURE", true):
			action, status = "failed", orDefault(r.Enhanced, "5.0.0")
		case r.Status == mail.StatusDelivered && !r.DSNPassed && wants(notify, "SUCCESS", false):
			action, status = "relayed", "2.0.0"
		default:
			continue
		}
		out = append(out, dsn.Recipient{
			Addr: r.Addr, ORCPT: it.env.Rcpts[i].ORCPT, Action: action, Status: status,
			RemoteMTA: r.RemoteMTA, Diagnostic: diagnostic(r), LastAttempt: r.Updated,
		})
	}
	return out
}

func wants(notify []string, what string, byDefault bool) bool {
	if len(notify) == 0 {
		return byDefault
	}
	return slices.ContainsFunc(notify, func(s string) bool { return strings.EqualFold(s, what) })
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func diagnostic(r mail.RcptState) string {
	if r.Code == 0 {
		return ""
	}
	return strings.TrimSpace(fmt.Sprintf("smtp; %d %s %s", r.Code, r.Enhanced, r.RemoteText))
}

// bounce builds the DSN and writes it to the spool; the caller schedules
// the returned item once the bounce is recorded.
func (q *Queue) bounce(it *item, rcpts []dsn.Recipient) (*item, error) {
	_, body, err := q.sp.readMessage(it.env.ID)
	if err != nil {
		return nil, err
	}
	host := orDefault(q.cfg.Hostname, "localhost")
	msg, err := dsn.Build(dsn.Report{
		ReportingMTA: host, EnvID: it.env.EnvID, ArrivalDate: it.env.Received,
		QueueID: it.env.ID, From: "MAILER-DAEMON@" + host, To: it.env.From,
		Recipients: rcpts, Original: body, Ret: it.env.Ret,
	})
	if err != nil {
		return nil, err
	}
	env := &mail.Envelope{
		From: "", Rcpts: []mail.Rcpt{{Addr: it.env.From}}, Received: time.Now(),
		Client: "sealgate-dsn", Origin: mail.OriginDSN, DSN: true, DSNOf: it.env.ID, TLS: it.env.TLS, Policy: it.env.Policy,
		EightBit: it.env.EightBit, SMTPUTF8: it.env.SMTPUTF8,
	}
	id, err := q.enqueue(env, msg, false)
	if err != nil {
		return nil, err
	}
	q.m.dsns.Inc()
	q.log.Info("dsn queued", slog.String("queue_id", it.env.ID), slog.String("dsn_id", id))
	return &item{env: env, st: newState(env, env.Received), body: msg, index: -1}, nil
}

// saveState writes the working state of a running item.
func (q *Queue) saveState(it *item, durable bool) error {
	return q.sp.writeState(it.env.ID, it.cur, durable)
}
