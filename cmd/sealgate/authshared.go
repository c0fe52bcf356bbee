package main

import (
	"context"
	"time"

	"github.com/sealgate/sealgate/internal/periodic"
	"github.com/sealgate/sealgate/smtpd"
	"github.com/sealgate/sealgate/store"
)

// authFailureCounter counts failed SMTP logins per client address in the
// shared store's rate-limit windows, so an address guessing passwords at
// one node is refused at every node.
type authFailureCounter struct{ db *store.DB }

// authKey is the limit key of a client address ("auth:ip:<address or /64>").
func authKey(key string) string { return "auth:ip:" + key }

// AuthFailures implements smtpd.AuthFailureCounter.
func (a authFailureCounter) AuthFailures(ctx context.Context, key string) (int, error) {
	w, err := a.db.Peek(ctx, authKey(key))
	if err != nil {
		return 0, err
	}
	return w[0].Count, nil
}

// AddAuthFailure implements smtpd.AuthFailureCounter.
func (a authFailureCounter) AddAuthFailure(ctx context.Context, key string) error {
	_, err := a.db.Hit(ctx, time.Minute, authKey(key))
	return err
}

// sharedAuthFailures is the shared failed-login counter when the store is
// PostgreSQL (nodes share it), nil with SQLite (one node counts alone).
// Without an open portal store, whose expiry loop sweeps ended windows,
// the gateway sweeps them itself.
func (g *gateway) sharedAuthFailures() (smtpd.AuthFailureCounter, error) {
	if !g.cfg.SharedStore() {
		return nil, nil
	}
	db, err := g.sharedDB()
	if err != nil {
		return nil, err
	}
	if g.portalStore == nil && g.limitSweep == nil {
		g.limitSweep = periodic.Start(context.Background(), time.Minute, false, func(ctx context.Context, _ time.Time) {
			db.SweepLimits(ctx)
		})
	}
	return authFailureCounter{db: db}, nil
}
