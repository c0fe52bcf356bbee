package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/bounce"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/delivery"
	"github.com/sealgate/sealgate/feedback"
	"github.com/sealgate/sealgate/internal/keyfile"
	"github.com/sealgate/sealgate/internal/periodic"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/store"
	"github.com/sealgate/sealgate/unsubscribe"
	"github.com/sealgate/sealgate/verp"
	"github.com/sealgate/sealgate/webhook"
)

// bounceAddresses are the VERP return paths of bounces.domain, under the
// key in bounces.key_file (created on first use; nodes share it).
func bounceAddresses(cfg *config.Config) (*verp.Addresses, error) {
	key, err := keyfile.LoadOrCreate(cfg.Bounces.KeyFile, verp.KeySize)
	if err != nil {
		return nil, fmt.Errorf("bounces.key_file: %w", err)
	}
	t, err := verp.NewTokens(key)
	if err != nil {
		return nil, err
	}
	return &verp.Addresses{Tokens: t, LocalPart: cfg.Bounces.LocalPart, Domain: strings.ToLower(cfg.Bounces.Domain)}, nil
}

// verpCourier gives marketing mail its bounce addresses before next.
func (g *gateway) verpCourier(next mail.Courier) (mail.Courier, error) {
	addrs, err := bounceAddresses(g.cfg)
	if err != nil {
		return nil, err
	}
	g.verp = addrs
	failed := func(queueID string, err error) {
		g.log.Warn("bounce address not recorded; the message keeps its own return path",
			slog.String("queue_id", queueID), slog.String("error", err.Error()))
	}
	return &verp.Courier{Addresses: addrs, Memory: g.portalStore, Use: marketingSet(g.cfg), Failed: failed, Next: next}, nil
}

// startBounces starts the listener of asynchronous bounces and complaints
// (bounces.listen) when bounces.domain is set.
func (g *gateway) startBounces() error {
	if !g.cfg.Bounces.Enabled() {
		return nil
	}
	h := &reportHandler{addrs: g.verp, feedback: strings.ToLower(g.cfg.Bounces.FeedbackAddress), st: g.portalStore, outbox: g.pending,
		audit: g.audit, hooks: g.hooks, stats: g.stats, provs: g.courier.Providers(), retention: g.cfg.Bounces.Retention, log: g.log}
	if hasMarketing(g.cfg) {
		t, err := unsubscribeTokens(g.cfg)
		if err != nil {
			return err
		}
		h.unsub = t
		h.mailto = strings.ToLower(g.cfg.Portal.UnsubscribeMailto)
		h.unsubscriber = unsubscriber{tokens: t, outbox: g.pending, stats: g.stats, provs: g.courier.Providers()}
	}
	tlsCfg, err := serverTLS(g.cfg, g.certs)
	if err != nil {
		return err
	}
	srv, err := feedback.Listen(feedback.Config{Addr: g.cfg.Bounces.Listen, Hostname: g.cfg.Hostname, TLS: tlsCfg,
		MaxBytes: g.cfg.Bounces.MaxMessageSize, Handler: h, Logger: g.log, Registerer: g.reg})
	if err != nil {
		return fmt.Errorf("bounces.listen: %w", err)
	}
	g.bounces = srv
	// Bounce addresses older than their retention are forgotten.
	g.forget = periodic.Start(context.Background(), time.Hour, true, func(ctx context.Context, now time.Time) {
		if _, err := g.portalStore.ForgetRecipients(ctx, now.Add(-g.cfg.Bounces.Retention)); err != nil && ctx.Err() == nil {
			g.log.Warn("old bounce addresses not removed", slog.String("error", err.Error()))
		}
	})
	return nil
}

// reportHandler acts on the reports the bounce listener receives: a hard
// bounce or a complaint about marketing mail puts the recipient on the
// sending domain's suppression list; every report is audited, counted
// and raised as a webhook event. Soft bounces are counted, not
// suppressed.
type reportHandler struct {
	addrs    *verp.Addresses
	feedback string // the feedback-loop address, lower case; "" for none
	st       *store.Store
	outbox   *suppressionOutbox // the suppressions, kept on disk while the store is down
	audit    *audit.Log
	hooks    *webhook.Outbox // nil without webhooks
	stats    *stats.Recorder
	unsub    *unsubscribe.Tokens // nil without marketing clients
	// mailto is portal.unsubscribe_mailto, lower case, whose List-Unsubscribe
	// requests unsubscriber carries out; "" without marketing clients.
	mailto       string
	unsubscriber unsubscriber
	provs        *delivery.Providers // complaints and DSN results by the recipient's provider
	retention    time.Duration
	log          *slog.Logger
}

// Recipient implements feedback.Handler: the feedback address, or a bounce
// address whose token verifies and whose recipient is on record.
func (h *reportHandler) Recipient(ctx context.Context, address string) (feedback.Target, bool, error) {
	if h.feedback != "" && strings.EqualFold(address, h.feedback) {
		return feedback.Target{Feedback: true}, true, nil
	}
	if h.mailto != "" && strings.EqualFold(address, h.mailto) {
		return feedback.Target{Unsubscribe: true}, true, nil
	}
	ref, err := h.addrs.Parse(address)
	if err != nil {
		return feedback.Target{}, false, nil
	}
	r, err := h.st.BounceRecipient(ctx, ref)
	switch {
	case errors.Is(err, store.ErrUnknownRecipient):
		return feedback.Target{}, false, nil
	case err != nil:
		return feedback.Target{}, false, err
	case time.Since(r.At) > h.retention:
		return feedback.Target{}, false, nil
	}
	return feedback.Target{Ref: ref}, true, nil
}

// Report implements feedback.Handler.
func (h *reportHandler) Report(ctx context.Context, targets []feedback.Target, rep *feedback.Report) error {
	for _, t := range targets {
		if t.Unsubscribe {
			if err := h.unsubscribeByMail(ctx, rep); err != nil {
				return err
			}
			continue
		}
		r, ok, err := h.recipient(ctx, t, rep)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := h.act(ctx, r, rep); err != nil {
			return err
		}
	}
	return nil
}

// maxSubjectWords bounds the words of a subject tried as a token.
const maxSubjectWords = 8

// unsubscribeByMail carries out a List-Unsubscribe mailto: request: the
// first word of its subject that is a token of this gateway's names the
// recipient to suppress for the sending domain, as the one-click POST
// does. A request without one is taken and does nothing (the sender is
// not told which tokens are valid).
func (h *reportHandler) unsubscribeByMail(ctx context.Context, rep *feedback.Report) error {
	words := strings.Fields(rep.Subject)
	for _, w := range words[:min(len(words), maxSubjectWords)] {
		domain, address, err := h.unsub.Open(w)
		if err == nil {
			return h.unsubscriber.Unsubscribe(ctx, domain, address, rep.Remote)
		}
	}
	h.log.Info("unsubscribe request by mail names no recipient of this gateway")
	return nil
}

// recipient is what a report to target is about: the bounce address's
// recipient, or for the feedback address the recipient that the quoted
// message's Return-Path, the report's Original-Mail-From or the quoted
// unsubscribe link names (all authenticated).
func (h *reportHandler) recipient(ctx context.Context, t feedback.Target, rep *feedback.Report) (verp.Recipient, bool, error) {
	ref := t.Ref
	if t.Feedback {
		if rep.Kind != feedback.KindARF {
			return verp.Recipient{}, false, nil
		}
		if found, ok := h.addrs.Find(rep.ReturnPath + " " + rep.OriginalMailFrom); ok {
			ref = found
		} else if r, ok := h.fromUnsubscribe(rep.ListUnsubscribe); ok {
			return r, true, nil
		} else {
			h.log.Info("complaint names no message of this gateway", slog.String("feedback_type", arfTypeLabel(rep.FeedbackType)))
			return verp.Recipient{}, false, nil
		}
	}
	r, err := h.st.BounceRecipient(ctx, ref)
	if errors.Is(err, store.ErrUnknownRecipient) {
		return r, false, nil
	}
	return r, err == nil, err
}

// arfFeedbackTypes are the registered ARF Feedback-Type values (RFC 5965
// §7.3, RFC 6430, RFC 6591).
var arfFeedbackTypes = []string{"abuse", "fraud", "virus", "other", "not-spam", "auth-failure"}

// arfTypeLabel is a report's Feedback-Type as it may be logged: a
// registered type, or "unknown" for any other text the sender wrote.
func arfTypeLabel(t string) string {
	if slices.Contains(arfFeedbackTypes, t) {
		return t
	}
	return "unknown"
}

// fromUnsubscribe reads the one-click token of a List-Unsubscribe value.
func (h *reportHandler) fromUnsubscribe(v string) (verp.Recipient, bool) {
	_, rest, ok := strings.Cut(v, "/u/")
	if h.unsub == nil || !ok {
		return verp.Recipient{}, false
	}
	token, _, _ := strings.Cut(rest, ">")
	domain, address, err := h.unsub.Open(strings.TrimSpace(token))
	if err != nil {
		return verp.Recipient{}, false
	}
	return verp.Recipient{Domain: domain, Address: address}, true
}

// act records one report about recipient r.
func (h *reportHandler) act(ctx context.Context, r verp.Recipient, rep *feedback.Report) error {
	switch rep.Kind {
	case feedback.KindARF:
		if err := h.audit.Report("arf", r.QueueID, r.Domain, r.Address, "complaint", "", 0); err != nil {
			return err
		}
		if err := h.suppress(ctx, r, "complaint", store.ReasonComplaint); err != nil {
			return err
		}
		h.stats.Add(r.Domain, stats.Complaints, 1)
		h.provs.Complained(r.Address)
		h.event(webhook.Event{Event: "complained", QueueID: r.QueueID, Recipient: r.Address, Async: true})
	case feedback.KindDSN:
		class, st := rep.Outcome()
		if class == bounce.None {
			return nil
		}
		if err := h.audit.Report("dsn", r.QueueID, r.Domain, r.Address, string(class), st.Status, st.Code); err != nil {
			return err
		}
		if class == bounce.Hard {
			if err := h.suppress(ctx, r, "bounce", store.ReasonHardBounce); err != nil {
				return err
			}
		}
		h.stats.Add(r.Domain, stats.Bounced(string(class)), 1)
		kind, result := "bounced", delivery.BouncedResult(class)
		if st.Action == "delayed" {
			kind, result = "deferred", delivery.ResultDeferred
		}
		h.provs.Reported(r.Address, result)
		h.event(webhook.Event{Event: kind, QueueID: r.QueueID, Recipient: r.Address, Code: st.Code, EnhancedCode: st.Status, Async: true})
	}
	return nil
}

// suppress puts r on its sending domain's list, audited (when the store
// takes it: until then it is kept on this node's disk).
func (h *reportHandler) suppress(ctx context.Context, r verp.Recipient, action, reason string) error {
	return h.outbox.Suppress(ctx, pendingSuppression{Domain: r.Domain, Address: r.Address, Reason: reason, Action: action, Actor: "system"})
}

func (h *reportHandler) event(e webhook.Event) {
	if h.hooks != nil {
		h.hooks.Add(e)
	}
}
