package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/smtpd"
	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/store"
	"github.com/sealgate/sealgate/webhook"
)

// webhookDir is the outbox's folder: <data_dir>/webhooks/outbox.db.
func webhookDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "webhooks") }

// openWebhooks opens the durable outbox of the configured webhooks and
// starts sending what it holds; before the queue, which reports to it.
func (g *gateway) openWebhooks() error {
	if len(g.cfg.Webhooks) == 0 {
		return nil
	}
	var rcv []webhook.Receiver
	for i, w := range g.cfg.Webhooks {
		secret, err := webhook.ReadSecret(w.SecretFile)
		if err != nil {
			return fmt.Errorf("webhooks[%d].secret_file: %w", i, err)
		}
		r := webhook.Receiver{URL: w.URL, Secret: secret, Events: w.Events}
		if w.CAFile != "" {
			pem, err := os.ReadFile(w.CAFile)
			if err != nil {
				return fmt.Errorf("webhooks[%d].ca_file: %w", i, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("webhooks[%d].ca_file %s: no certificates", i, w.CAFile)
			}
			r.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		rcv = append(rcv, r)
	}
	ob, err := webhook.Open(webhook.Options{Dir: webhookDir(g.cfg), Receivers: rcv, Logger: g.log})
	if err != nil {
		return err
	}
	g.hooks = ob
	return nil
}

// deliveryEvent is the webhook event of one delivery attempt.
func deliveryEvent(env *mail.Envelope, o mail.Outcome, attempt int) webhook.Event {
	return webhook.Event{Event: string(o.Result()), QueueID: env.ID, Client: env.Client, Recipient: o.Rcpt,
		Attempt: attempt, Code: o.Code, EnhancedCode: o.Enhanced}
}

// acceptEvents is what smtpd reports to: the audit log, and an accepted
// webhook event per recipient.
type acceptEvents struct {
	*audit.Log
	hooks *webhook.Outbox
	stats *stats.Recorder
}

// Accepted implements smtpd.Auditor.
func (a acceptEvents) Accepted(env *mail.Envelope) {
	a.Log.Accepted(env)
	if env.Origin == "" {
		a.stats.Add(addr.DomainOf(env.From), stats.Sent, int64(len(env.Rcpts)))
	}
	if a.hooks == nil {
		return
	}
	events := make([]webhook.Event, len(env.Rcpts))
	for i, r := range env.Rcpts {
		events[i] = webhook.Event{Event: "accepted", QueueID: env.ID, Client: env.Client, Recipient: r.Addr}
	}
	// Committed to the outbox before the client's 250 (one transaction for
	// every recipient); a failure is logged by the outbox.
	a.hooks.Add(events...)
}

// portalEvent turns the portal's record of a view or a reply into a
// portal_opened or portal_replied webhook event. The portal's message ID
// is the queue ID and a hash of the recipient (portal/box.MessageID).
func (g *gateway) portalEvent(e store.Event) {
	if g.hooks == nil {
		return
	}
	if ev, ok := portalWebhookEvent(e); ok {
		g.hooks.Add(ev)
	}
}

// portalWebhookEvent is the webhook event of a portal audit event, if any.
func portalWebhookEvent(e store.Event) (webhook.Event, bool) {
	kind, ok := map[string]string{store.EventView: "portal_opened", store.EventReply: "portal_replied"}[e.Kind]
	i := strings.LastIndexByte(e.MessageID, '.')
	if !ok || i <= 0 {
		return webhook.Event{}, false
	}
	return webhook.Event{Event: kind, QueueID: e.MessageID[:i], Recipient: e.Actor, Time: e.At.UTC()}, true
}

// suppressionHooks is the suppression list as smtpd checks it, with a
// suppressed webhook event (when there are webhooks) and a count for every
// recipient it refuses.
type suppressionHooks struct {
	smtpd.SuppressionList
	hooks *webhook.Outbox // nil without webhooks
	stats *stats.Recorder
}

// Suppressed implements smtpd.SuppressionList.
func (s suppressionHooks) Suppressed(ctx context.Context, domain, address string) (bool, error) {
	hit, err := s.SuppressionList.Suppressed(ctx, domain, address)
	if hit && err == nil {
		s.stats.Add(strings.ToLower(domain), stats.Suppressed, 1)
		if s.hooks != nil {
			s.hooks.Add(webhook.Event{Event: "suppressed", Recipient: address})
		}
	}
	return hit, err
}
