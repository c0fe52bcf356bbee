package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/sealgate/sealgate/dsn"
	"github.com/sealgate/sealgate/mail"
)

// finish handles a message whose recipients are all in a terminal state.
// If a DSN is owed, it is written into the spool in one write with this
// message's final state, which records it as queued (DSNDone), and only
// then scheduled; this message is removed after. A crash before that
// write leaves neither, and the bounce is decided again on recovery; a
// crash after it leaves both, and the DSN is sent; a torn write that kept
// the DSN alone is linked up on recovery (linkDSNs). The DSN's queue ID
// is derived from this message's (dsnID), so however often it is written
// the spool holds one. An error leaves the message scheduled, and the
// next pass goes on from the step that failed.
func (q *Queue) finish(it *item) error {
	if rcpts := q.notifications(it); len(rcpts) > 0 && !it.cur.DSNDone {
		d, err := q.bounce(it, rcpts)
		if err != nil {
			return fmt.Errorf("dsn not queued: %w", err)
		}
		q.add(d)
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
		if r.LocalReason != "" {
			return dsn.LocalType + "; " + r.LocalReason
		}
		return ""
	}
	return strings.TrimSpace(fmt.Sprintf("smtp; %d %s %s", r.Code, r.Enhanced, r.RemoteText))
}

// bounce builds the DSN and writes it, through the door every message
// sealgate writes itself takes (submit), together with the message's
// final state marked DSNDone; the caller schedules the returned item.
// The DSN leaves as the message it reports on would (its policy summary,
// TLS requirement and 8-bit needs), to the message's envelope sender.
func (q *Queue) bounce(it *item, rcpts []dsn.Recipient) (*item, error) {
	_, body, err := q.sp.readMessage(it.env.ID)
	if err != nil {
		return nil, err
	}
	host := orDefault(q.cfg.Hostname, "localhost")
	id := dsnID(it.env.ID)
	msg, err := dsn.Build(dsn.Report{
		ReportingMTA: host, EnvID: it.env.EnvID, ArrivalDate: it.env.Received,
		QueueID: it.env.ID, From: "MAILER-DAEMON@" + host, To: it.env.From,
		Recipients: rcpts, Original: body, Ret: it.env.Ret, MessageID: id + "@" + host,
	})
	if err != nil {
		return nil, err
	}
	final := it.cur.Clone()
	final.DSNDone = true
	g := mail.Generated{Origin: mail.OriginDSN, To: []string{it.env.From}, Body: msg, TLS: it.env.TLS}
	env, err := q.submit(g, func(env *mail.Envelope) {
		env.ID, env.DSN, env.DSNOf, env.Policy = id, true, it.env.ID, it.env.Policy
		env.EightBit, env.SMTPUTF8 = it.env.EightBit, it.env.SMTPUTF8
	}, func(env *mail.Envelope) error { return q.enqueue(env, msg, &bounceMark{id: it.env.ID, st: final}) })
	if err != nil {
		return nil, err
	}
	it.cur.DSNDone = true
	q.m.dsns.Inc()
	q.log.Info("dsn queued", slog.String("queue_id", it.env.ID), slog.String("dsn_id", id))
	return &item{env: env, st: newState(env, env.Received), body: msg, index: -1}, nil
}

// bounceMark is a bounced message's final state, written with its DSN.
type bounceMark struct {
	id string
	st *mail.State
}

// dsnID is the queue ID of the DSN about message id: its time part, and
// six bytes of a hash of id in place of the random ones. It is the same
// every time it is asked for, so a DSN written twice for one message is
// one message in the spool; no other message's ID has the same random
// part but by the chance any two IDs share.
func dsnID(id string) string {
	raw, err := hex.DecodeString(id)
	if err != nil || len(raw) != 12 {
		return NewID()
	}
	sum := sha256.Sum256([]byte("sealgate dsn " + id))
	copy(raw[6:], sum[:6])
	return hex.EncodeToString(raw)
}

// saveState writes the working state of a running item.
func (q *Queue) saveState(it *item, durable bool) error {
	return q.sp.writeState(it.env.ID, it.cur, durable)
}
