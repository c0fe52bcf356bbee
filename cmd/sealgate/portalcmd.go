package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/portal"
	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/store"
)

// cmdPortal is `sealgate portal list|revoke ID|purge|audit ID`. It opens
// the portal store directly (SQLite in the data folder or the configured
// PostgreSQL); it never shows message content, and it never creates a
// store or a key: one that is not there is an error naming the config.
func cmdPortal(inv *invocation, io stdio) int {
	cfg, src, err := commandConfig(inv)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	if err := portalStoreExists(cfg); err != nil {
		return io.fail("portal: %v (config: %s)", err, src)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	op := inv.cmd.path[1]
	st, _, err := openPortalStore(ctx, cfg, op == "list" || op == "audit")
	if err != nil {
		return io.fail("portal: %v", err)
	}
	defer st.Close(ctx)
	if err := portalOp(ctx, st, cfg, op, inv, io); err != nil {
		return io.fail("portal %s: %v", op, err)
	}
	return 0
}

// portalStoreExists checks that the portal's master key, and for SQLite
// its database, are there, so a command that reads the portal never
// creates an empty one in the wrong place.
func portalStoreExists(cfg *config.Config) error {
	if _, err := os.Stat(cfg.Portal.MasterKeyFile); err != nil {
		return fmt.Errorf("no portal key at %s: no portal was ever run with this config", cfg.Portal.MasterKeyFile)
	}
	if !cfg.SharedStore() {
		db := filepath.Join(cfg.DataDir, "portal", "portal.db")
		if _, err := os.Stat(db); err != nil {
			return fmt.Errorf("no portal store at %s", db)
		}
	}
	return nil
}

// openPortalStore opens the configured portal store and its master key.
// serve uses it too, so the CLI and the gateway always agree on where
// portal messages live. A readOnly open changes nothing: it applies no
// migration and refuses a store whose schema is older than this sealgate
// ("run sealgate store migrate"); commands that only read use it.
func openPortalStore(ctx context.Context, cfg *config.Config, readOnly bool) (*store.Store, *keywrap.Master, error) {
	master, err := keywrap.LoadOrCreate(cfg.Portal.MasterKeyFile)
	if err != nil {
		return nil, nil, err
	}
	opts := storeOptions(cfg)
	opts.Master, opts.TTL, opts.ReadOnly = master, cfg.Portal.MessageTTL, readOnly
	st, err := store.Open(ctx, opts)
	return st, master, err
}

func portalOp(ctx context.Context, st *store.Store, cfg *config.Config, op string, inv *invocation, io stdio) error {
	var id string
	if len(inv.args) == 1 {
		id = inv.args[0]
	}
	switch op {
	case "list":
		return portalList(ctx, st, inv.on("json"), io)
	case "revoke":
		err := st.Revoke(ctx, id, operatorName())
		if aerr := auditPortal(cfg, "portal-revoke", id, err); err == nil && aerr != nil {
			return fmt.Errorf("revoked, but the audit log could not be written: %w", aerr)
		}
		if err == nil {
			fmt.Fprintf(io.out, "%s: revoked; its content is deleted\n", id)
		}
		return err
	case "purge":
		n, err := st.Purge(ctx)
		auditPortal(cfg, "portal-purge", "", err)
		if err == nil {
			fmt.Fprintf(io.out, "purged %d expired messages\n", n)
		}
		return err
	case "audit":
		return portalAudit(ctx, st, id, inv.on("json"), io)
	}
	return errors.New("unknown operation")
}

// auditPortal appends a portal operator action to the gateway's audit
// log, with the local user who ran the command.
func auditPortal(cfg *config.Config, action, id string, opErr error) error {
	l, err := openAuditLog(cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	result := "ok"
	if opErr != nil {
		result = "failed"
	}
	return l.Operator(action, id, localOperator(), result)
}

// operatorName is recorded in the portal's access record as who revoked.
func operatorName() string {
	return "operator:" + localOperator()
}

// localOperator is the user running this command: "uid=1000(alice)".
func localOperator() string {
	s := fmt.Sprintf("uid=%d", os.Getuid())
	if u, err := user.Current(); err == nil {
		s += "(" + u.Username + ")"
	}
	return s
}

func portalState(m store.Meta, now time.Time) string {
	switch {
	case !m.Revoked.IsZero():
		return "revoked"
	case !m.Deleted.IsZero() || !now.Before(m.Expires):
		return "expired"
	}
	return "live"
}

func portalList(ctx context.Context, st *store.Store, asJSON bool, io stdio) error {
	list, err := st.List(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	if asJSON {
		enc := json.NewEncoder(io.out)
		for _, m := range list {
			enc.Encode(map[string]any{"id": m.ID, "state": portalState(m, now), "sender": m.Sender,
				"recipient": m.Recipient, "created": m.Created.UTC(), "expires": m.Expires.UTC(),
				"views": m.Views, "attachments": m.Attachments})
		}
		return nil
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tCREATED\tEXPIRES\tVIEWS\tFILES\tSENDER\tRECIPIENT")
	for _, m := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", m.ID, portalState(m, now),
			m.Created.UTC().Format(time.RFC3339), m.Expires.UTC().Format(time.RFC3339), m.Views, m.Attachments, m.Sender, m.Recipient)
	}
	return tw.Flush()
}

func portalAudit(ctx context.Context, st *store.Store, id string, asJSON bool, io stdio) error {
	if _, err := st.Get(ctx, id); err != nil {
		return err
	}
	evs, err := st.Audit(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(io.out)
		for _, e := range evs {
			enc.Encode(e)
		}
		return nil
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tWHO\tFROM\tDETAIL")
	for _, e := range evs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Kind, e.Actor, e.Remote, e.Detail)
	}
	return tw.Flush()
}

// queueSender hands portal mail to the gateway's queue. Replies carry PHI
// and leave protected like the original message; codes and receipts carry
// none and are delivered normally (a code sent to the portal would never
// reach its recipient).
type queueSender struct{ q mail.Submitter }

// Send submits m.
func (s queueSender) Send(ctx context.Context, m portal.Mail) error {
	g := mail.Generated{Origin: mail.OriginPortal, From: m.From, To: m.To, Body: m.Data}
	if m.Sensitive {
		g.Origin, g.Sensitive = mail.OriginPortalReply, true
	}
	_, err := s.q.Submit(ctx, g)
	return err
}

// startPortal serves the pickup site on portal.listen over the store st
// (from openPortalStore). It returns nil when portal.listen is empty.
// unsub, when not nil, serves the one-click unsubscribe links.
func startPortal(ctx context.Context, cfg *config.Config, st *store.Store, master *keywrap.Master,
	q mail.Submitter, log *slog.Logger, reg prometheus.Registerer, certs *certCache, unsub portal.Unsubscriber,
	onEvent func(store.Event)) (*portal.Server, error) {
	if cfg.Portal.Listen == "" {
		return nil, nil
	}
	tlsCfg, err := portalTLS(cfg, certs)
	if err != nil {
		return nil, err
	}
	brand, err := portalBranding(cfg.Portal.Branding)
	if err != nil {
		return nil, err
	}
	zone, err := portalZone(cfg.Portal.TimeZone)
	if err != nil {
		return nil, err
	}
	srv, err := portal.New(portal.Options{
		Store: st, Master: master, Sender: queueSender{q: q}, From: portalFrom(cfg),
		FromName: cfg.Portal.FromName, Language: cfg.Portal.Language, TimeZone: zone,
		Listen: cfg.Portal.Listen, TLS: tlsCfg, SessionIdle: cfg.Portal.SessionIdle,
		CodeTTL: cfg.Portal.CodeTTL, MaxCodeAttempts: cfg.Portal.MaxCodeAttempts,
		ReadReceipts: cfg.Portal.ReadReceipts, RequirePassword: cfg.Portal.RequirePassword,
		RequireTOTP: cfg.Portal.RequireTOTP, Branding: brand, Registerer: reg, Log: log,
		// With PostgreSQL, several nodes serve the portal: share sessions.
		SharedSessions: cfg.SharedStore(), Unsubscribe: unsub, OnEvent: onEvent,
	})
	if err != nil {
		return nil, err
	}
	return srv, srv.Start(ctx)
}

func portalTLS(cfg *config.Config, certs *certCache) (*tls.Config, error) {
	files := cfg.PortalTLS()
	if files.Cert == cfg.TLS.Cert {
		return serverTLS(cfg, certs) // the top-level certificate, generated if so configured
	}
	if certs == nil {
		certs = &certCache{}
	}
	c, err := certs.config("portal", files.Cert, files.Key)
	if err != nil {
		return nil, fmt.Errorf("portal tls certificate: %w", err)
	}
	return c, nil
}

func portalBranding(b config.Branding) (portal.Branding, error) {
	out := portal.Branding{Organization: b.Organization, Color: b.Color, Support: b.Support,
		SupportPhone: b.SupportPhone, SupportEmail: b.SupportEmail}
	if b.Logo == "" {
		return out, nil
	}
	logo, err := os.ReadFile(b.Logo)
	if err != nil {
		return out, fmt.Errorf("portal logo: %w", err)
	}
	out.Logo, out.LogoType = logo, "image/png"
	if strings.HasSuffix(strings.ToLower(b.Logo), ".svg") {
		out.LogoType = "image/svg+xml"
	}
	return out, nil
}

// portalFrom is the sender of the portal's mail: portal.from, else
// portal@<hostname>.
func portalFrom(cfg *config.Config) string {
	if cfg.Portal.From != "" {
		return cfg.Portal.From
	}
	return "portal@" + cfg.Hostname
}

// portalZone loads portal.time_zone; "" is UTC.
func portalZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("portal.time_zone: %w", err)
	}
	return loc, nil
}

// lateSubmitter is the queue's Submit for a part built before the queue:
// the encryptor, which is the queue's courier, writes portal
// notifications into it. It refuses until the queue is open.
type lateSubmitter struct{ q atomic.Pointer[queue.Queue] }

// Submit implements mail.Submitter.
func (l *lateSubmitter) Submit(ctx context.Context, g mail.Generated) (string, error) {
	q := l.q.Load()
	if q == nil {
		return "", errors.New("sealgate: the spool is not open yet")
	}
	return q.Submit(ctx, g)
}
