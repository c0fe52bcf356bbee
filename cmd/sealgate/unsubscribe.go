package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/delivery"
	"github.com/sealgate/sealgate/internal/keyfile"
	"github.com/sealgate/sealgate/portal"
	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/store"
	"github.com/sealgate/sealgate/unsubscribe"
)

// unsubscribeTokens loads (or, on first use, creates) the key of the
// one-click unsubscribe tokens, portal.unsubscribe_key_file. Nodes that
// share a portal share this file too.
func unsubscribeTokens(cfg *config.Config) (*unsubscribe.Tokens, error) {
	key, err := keyfile.LoadOrCreate(cfg.Portal.UnsubscribeKeyFile, unsubscribe.KeySize)
	if err != nil {
		return nil, fmt.Errorf("portal.unsubscribe_key_file: %w", err)
	}
	return unsubscribe.NewTokens(key)
}

// marketingClient reports whether the client named sends campaigns.
func marketingClient(cfg *config.Config, name string) bool {
	return name != "" && slices.ContainsFunc(cfg.Clients, func(c config.Client) bool { return c.Name == name && c.Marketing() })
}

// unsubscriber is the portal's one-click unsubscribe: a verified token's
// address is suppressed for its sending domain and the change audited.
type unsubscriber struct {
	tokens *unsubscribe.Tokens
	outbox *suppressionOutbox // the store, or this node's disk while it is down

	stats *stats.Recorder
	provs *delivery.Providers // nil on a node without delivery
}

// unsubscriber serves unsubscribe links when a marketing client may send
// them or the key is there (a portal node of several).
func (g *gateway) unsubscriber() (portal.Unsubscriber, error) {
	tokens, err := unsubscribeTokens(g.cfg)
	if err != nil {
		return nil, err
	}
	return unsubscriber{tokens: tokens, outbox: g.pending, stats: g.stats, provs: g.courier.Providers()}, nil
}

// Open implements portal.Unsubscriber.
func (u unsubscriber) Open(token string) (string, string, error) { return u.tokens.Open(token) }

// Unsubscribe implements portal.Unsubscriber.
func (u unsubscriber) Unsubscribe(ctx context.Context, domain, address, remote string) error {
	err := u.outbox.Suppress(ctx, pendingSuppression{Domain: domain, Address: address, Reason: store.ReasonUnsubscribe,
		Action: "unsubscribe", Actor: "recipient", Remote: remote})
	if err != nil {
		return err
	}
	u.stats.Add(strings.ToLower(domain), stats.Unsubscribes, 1)
	u.provs.Unsubscribed(address)
	return nil
}
