package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/bounce"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/store"
)

// bounceObserver sits between the queue and the audit log: it passes
// every event on, counts failed deliveries by class, and puts a
// recipient whose marketing message bounced hard (no such user or domain)
// on the suppression list of the sending domain, audited. Transactional
// mail is counted, never suppressed.
type bounceObserver struct {
	*audit.Log
	metrics *bounce.Metrics
	cfg     *config.Config
	outbox  *suppressionOutbox // nil when no store is open: nothing is suppressed
	log     *slog.Logger
	stats   *stats.Recorder // nil without a store
}

// Delivery implements queue.Auditor.
func (b bounceObserver) Delivery(env *mail.Envelope, o mail.Outcome, attempt int) {
	b.Log.Delivery(env, o, attempt)
	class := bounce.Classify(o)
	defer b.metrics.Count(class) // after the suppression, so the count says it is done
	b.count(env, o, class)
	domain := addr.DomainOf(env.From)
	if class != bounce.Hard || b.outbox == nil || domain == "" || !marketingClient(b.cfg, env.Client) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.outbox.Suppress(ctx, pendingSuppression{Domain: domain, Address: o.Rcpt, Reason: store.ReasonHardBounce,
		Action: "bounce", Actor: "system"})
	if err != nil {
		b.log.Warn("hard bounce not put on the suppression list", slog.String("queue_id", env.ID), slog.String("error", err.Error()))
	}
}

// count adds one attempt's result to the sending domain's statistics:
// client mail only, not what sealgate wrote itself.
func (b bounceObserver) count(env *mail.Envelope, o mail.Outcome, class bounce.Class) {
	if env.Origin != "" || env.DSN {
		return
	}
	d := addr.DomainOf(env.From)
	switch o.Result() {
	case mail.ResultDelivered:
		b.stats.Add(d, stats.Delivered, 1)
	case mail.ResultDeferred:
		b.stats.Add(d, stats.Deferred, 1)
	default:
		b.stats.Add(d, stats.Bounced(string(class)), 1)
	}
}
