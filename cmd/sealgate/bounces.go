package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/bounce"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/queue"
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
	st      *store.Store // nil when no store is open: nothing is suppressed
	log     *slog.Logger
}

// Delivery implements queue.Auditor.
func (b bounceObserver) Delivery(env *queue.Envelope, o queue.Outcome, attempt int) {
	b.Log.Delivery(env, o, attempt)
	class := bounce.Classify(o)
	defer b.metrics.Count(class) // after the suppression, so the count says it is done
	at := strings.LastIndexByte(env.From, '@')
	if class != bounce.Hard || b.st == nil || at < 0 || !marketingClient(b.cfg, env.Client) {
		return
	}
	domain := strings.ToLower(env.From[at+1:])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.st.Suppress(ctx, store.Suppression{Domain: domain, Address: o.Rcpt, Reason: store.ReasonHardBounce})
	if err == nil {
		err = b.Log.Suppression("bounce", domain, strings.ToLower(o.Rcpt), store.ReasonHardBounce, "system", "")
	}
	if err != nil {
		b.log.Warn("hard bounce not put on the suppression list", slog.String("queue_id", env.ID), slog.String("error", err.Error()))
	}
}
