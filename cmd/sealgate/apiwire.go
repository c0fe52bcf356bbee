package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/sealgate/sealgate/api"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/webhook"
)

// apiStoreDir is where the API's store lives: <data_dir>/api/api.db.
func apiStoreDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "api") }

// openAPIStore opens the API's store and its status tracker when the API
// is configured; the queue reports delivery results to the tracker, so
// this comes before the queue starts.
func (g *gateway) openAPIStore() error {
	if g.cfg.API.Listen == "" {
		return nil
	}
	st, err := api.OpenStore(context.Background(), apiStoreDir(g.cfg))
	if err != nil {
		return err
	}
	g.apiStore = st
	g.apiTracker = st.StartTracker(g.log)
	return nil
}

// startAPI serves the HTTP send API on api.listen, over TLS with api.tls
// or the gateway's certificate, handing messages to smtpd's door.
func (g *gateway) startAPI() error {
	if g.cfg.API.Listen == "" {
		return nil
	}
	files := g.cfg.APITLS()
	tlsCfg, err := g.certs.config("api", files.Cert, files.Key)
	if err != nil {
		return fmt.Errorf("api certificate: %w", err)
	}
	srv, err := api.New(api.Options{Listen: g.cfg.API.Listen, TLS: tlsCfg, Store: g.apiStore, Submitter: g.smtpd,
		Queued: func(id string) bool {
			_, err := g.queue.Show(id)
			return err == nil
		},
		Hostname: g.cfg.Hostname, MaxRequestBytes: g.cfg.API.MaxRequestSize, Logger: g.log})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("api listener: %w", err)
	}
	g.api = srv
	return nil
}

// queueEvents is what the queue reports to: the audit log and the
// suppression list (bounceObserver), the API's status of its messages, and
// the webhooks.
type queueEvents struct {
	bounceObserver
	tracker *api.Tracker
	hooks   *webhook.Outbox
}

// Delivery implements queue.Auditor.
func (e queueEvents) Delivery(env *queue.Envelope, o queue.Outcome, attempt int) {
	e.bounceObserver.Delivery(env, o, attempt)
	e.tracker.Delivery(env.ID, o.Rcpt, string(o.Result()), attempt, o.Code, o.Enhanced)
	e.hooks.Add(deliveryEvent(env, o, attempt))
}
