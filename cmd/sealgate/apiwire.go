package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/sealgate/sealgate/api"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/store"
	"github.com/sealgate/sealgate/webhook"
)

// openAPIStore opens the API's state in the shared store, with its status
// tracker, when the API is configured; an api.db left by an older release
// is moved into the store first. The queue reports delivery results to
// the tracker, so this comes before the queue starts.
func (g *gateway) openAPIStore() error {
	if g.cfg.API.Listen == "" {
		return nil
	}
	db, err := g.sharedDB()
	if err != nil {
		return err
	}
	st := api.NewStore(db)
	if err := importAPIFile(context.Background(), st, g.cfg, g.log); err != nil {
		return err
	}
	g.apiStore = st
	g.apiTracker = st.StartTracker(g.log)
	return nil
}

// importAPIFile moves <data_dir>/api/api.db, the API's own file before
// the shared store, into it (once; the file is removed after).
func importAPIFile(ctx context.Context, st *api.Store, cfg *config.Config, log *slog.Logger) error {
	n, err := st.ImportFile(ctx, filepath.Join(cfg.DataDir, api.LegacyFile))
	if n > 0 && log != nil {
		log.Info("api: moved the old api.db into the shared store", slog.Int("rows", n))
	}
	return err
}

// sharedDB is the shared store's database: the portal store's when that
// is open, else one of the gateway's own (closed on stop).
func (g *gateway) sharedDB() (*store.DB, error) {
	if g.portalStore != nil {
		return g.portalStore.DB(), nil
	}
	if g.storeDB == nil {
		opts := storeOptions(g.cfg)
		opts.Log = g.log
		db, err := store.OpenDB(context.Background(), opts)
		if err != nil {
			return nil, err
		}
		g.storeDB = db
	}
	return g.storeDB, nil
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
		Hostname: g.cfg.Hostname, MaxRequestBytes: g.cfg.API.MaxRequestSize,
		MaxInFlightPerAddress: g.cfg.Limits.MaxConnectionsPerClient, Logger: g.log})
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

// The audit log hears of recipients failed for age (audit.Log.Expired),
// so their evidence ends "expired", not "pending".
var _ queue.ExpiryAuditor = queueEvents{}

// Delivery implements queue.Auditor.
func (e queueEvents) Delivery(env *mail.Envelope, o mail.Outcome, attempt int) {
	e.bounceObserver.Delivery(env, o, attempt)
	e.tracker.Delivery(env.ID, o.Rcpt, string(o.Result()), attempt, o.Code, o.Enhanced)
	e.hooks.Add(deliveryEvent(env, o, attempt))
}
