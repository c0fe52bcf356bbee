package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/api"
	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/bounce"
	"github.com/sealgate/sealgate/cluster"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/control"
	"github.com/sealgate/sealgate/delivery"
	"github.com/sealgate/sealgate/dkim"
	"github.com/sealgate/sealgate/encrypt"
	"github.com/sealgate/sealgate/encrypt/portalbox"
	"github.com/sealgate/sealgate/feedback"
	"github.com/sealgate/sealgate/internal/certgen"
	"github.com/sealgate/sealgate/internal/periodic"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/metrics"
	"github.com/sealgate/sealgate/passwd"
	"github.com/sealgate/sealgate/portal"
	"github.com/sealgate/sealgate/portal/box"
	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/safeio"
	"github.com/sealgate/sealgate/smtpd"
	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/store"
	"github.com/sealgate/sealgate/unsubscribe"
	"github.com/sealgate/sealgate/verp"
	"github.com/sealgate/sealgate/webhook"
)

// gateway is one running sealgate: the components wired together, in the
// order they start and the reverse order they stop.
type gateway struct {
	cfg     *config.Config
	log     *slog.Logger
	reg     *prometheus.Registry
	audit   *audit.Log
	courier *delivery.Client
	// verified holds the resolver, MTA-STS cache and TLS report store.
	verified   *delivery.Verified
	tlsReports *tlsReporter
	queue      *queue.Queue
	smtpd      *smtpd.Server
	metrics    *metrics.Server
	control    *control.Server
	// The HTTP send API (api.listen): its store, the tracker that records
	// delivery results for it, and its listener.
	apiStore   *api.Store
	apiTracker *api.Tracker
	api        *api.Server
	// storeDB is the shared store's database when the portal store is
	// not open (sharedDB); nil otherwise. limitSweep then removes ended
	// rate-limit windows (failed logins), which the portal store's
	// expiry loop does otherwise.
	storeDB *store.DB
	// index writes the evidence index to a shared store (nil without one).
	index      *evidenceIndexer
	limitSweep *periodic.Loop
	// node is the node's service state (`sealgate node drain`); cluster
	// takes over draining peers' spools (cluster.listen), nil without.
	node    *node
	cluster *cluster.Server
	// hooks is the webhooks' durable outbox (webhooks:), nil without any.
	hooks *webhook.Outbox
	// ready is what /readyz reports.
	ready atomic.Bool
	// protect is the protection layer's lifecycle (key folders, store).
	protect *protectHandle
	// The pickup portal: its store (shared with the protection layer) and
	// its HTTPS site, when portal.listen is set.
	portalStore *store.Store
	// pending puts addresses on the suppression list, keeping on disk
	// what the store cannot take yet; nil without a store.
	pending      *suppressionOutbox
	portalMaster *keywrap.Master
	portal       *portal.Server
	// VERP return paths of marketing mail (bounces.domain), the listener
	// of what comes back to them and its clean-up loop; nil when off.
	verp    *verp.Addresses
	bounces *feedback.Server
	forget  *periodic.Loop
	// stats counts deliveries per sending domain into the store; nil
	// without a store.
	stats *stats.Recorder
	// cfgPath is the file cfg was read from, "" for defaults: reload
	// reads it again.
	cfgPath string
	// certs serve TLS certificates that a reload can renew; policy is the
	// engine smtpd checks with, replaced on reload. reloadMu orders reloads.
	certs    *certCache
	policy   *policyHolder
	reloadMu sync.Mutex
	// dirs is the file-system seam for the data folder's creation; nil is
	// the real file system.
	dirs safeio.FS
}

// controlSocket is where `sealgate queue` finds a running gateway.
func controlSocket(cfg *config.Config) string {
	return filepath.Join(cfg.DataDir, "control.sock")
}

// startGateway builds and starts every component. On error, whatever was
// started is stopped again.
func startGateway(cfg *config.Config, cfgPath string, log *slog.Logger) (*gateway, error) {
	return startGatewayWith(&gateway{cfg: cfg, cfgPath: cfgPath, log: log, reg: metrics.NewRegistry()})
}

// startGatewayWith starts g, whose cfg, log and reg are set.
func startGatewayWith(g *gateway) (*gateway, error) {
	if err := g.start(); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.close(ctx)
		return nil, err
	}
	g.ready.Store(true)
	return g, nil
}

var errNotReady = errors.New("starting or shutting down")

// readiness answers /readyz: ready once every component started, not
// ready again from the moment shutdown begins, so a load balancer drains;
// not ready either while the spool cannot take new mail (a full, failing
// or read-only disk, or free space below queue.min_free), so new mail goes
// to other nodes while this one delivers what it holds.
func (g *gateway) readiness() error {
	if !g.ready.Load() {
		return errNotReady
	}
	if err := g.node.readiness(); err != nil {
		return err
	}
	return g.queue.Storage()
}

// health answers `sealgate health` (the container's HEALTHCHECK): ready
// as readiness says, or the node's state while it is out of service on
// purpose (draining, drained), which is healthy though not ready — an
// orchestrator must not kill a node that hands its spool over, whatever
// its disk (a full disk is a reason to drain). Starting or shutting down
// is not healthy.
func (g *gateway) health() (string, error) {
	if !g.ready.Load() {
		return "", errNotReady
	}
	if st := g.node.state(); st != control.NodeServing {
		return st, nil
	}
	if err := g.queue.Storage(); err != nil {
		return "", err
	}
	return control.HealthReady, nil
}

func (g *gateway) start() error {
	if g.certs == nil {
		g.certs = &certCache{}
		g.reg.MustRegister(g.certs)
	}
	// The data folder and the spool in it are fsynced into their parents
	// when first made: a power loss must not take the folder, and with it
	// mail acknowledged since, away.
	if err := safeio.MkdirAll(g.dirs, g.cfg.SpoolDir(), 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	if err := g.openAudit(); err != nil {
		return err
	}
	n, err := loadNode(g)
	if err != nil {
		return err
	}
	g.node = n
	n.register(g.reg)
	if err := g.openPortalStore(); err != nil {
		return err
	}
	if err := g.openAPIStore(); err != nil {
		return fmt.Errorf("api store: %w", err)
	}
	if err := g.startEvidenceIndex(); err != nil {
		return fmt.Errorf("evidence index: %w", err)
	}
	if err := g.openWebhooks(); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	if err := g.startQueue(); err != nil {
		return err
	}
	if g.portalStore != nil {
		unsub, err := g.unsubscriber()
		if err != nil {
			return err
		}
		srv, err := startPortal(context.Background(), g.cfg, g.portalStore, g.portalMaster, g.queue, g.log, g.reg, g.certs, unsub, g.portalEvent)
		if err != nil {
			return fmt.Errorf("portal: %w", err)
		}
		g.portal = srv
	}
	if err := g.startBounces(); err != nil {
		return err
	}
	if err := g.startSMTP(); err != nil {
		return err
	}
	if err := g.startAPI(); err != nil {
		return err
	}
	if err := g.startCluster(); err != nil {
		return err
	}
	if err := g.startOps(); err != nil {
		return err
	}
	g.node.start()
	return nil
}

// startEvidenceIndex indexes where this node's audit records are in a
// store the nodes share (PostgreSQL), so evidence show on another node
// can name this one.
func (g *gateway) startEvidenceIndex() error {
	failures := indexFailures(g.reg)
	if !g.cfg.SharedStore() {
		return nil
	}
	db, err := g.sharedDB()
	if err != nil {
		return err
	}
	g.index = startEvidenceIndex(db, g.audit, g.cfg.Hostname, g.log, failures)
	g.index.startPruning(g.cfg.Store.IndexRetention())
	return nil
}

func (g *gateway) openAudit() error {
	l, err := openAuditLog(g.cfg)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	g.audit = l
	return nil
}

// openAuditLog opens the configured audit log (log.audit_file, default
// audit.log in the data folder; "-" is standard error), with its
// checkpoint key (log.audit_key_file, created on first use).
func openAuditLog(cfg *config.Config) (*audit.Log, error) {
	key, err := audit.LoadOrCreateKey(cfg.Log.AuditKeyFile)
	if err != nil {
		return nil, err
	}
	o := audit.Options{Key: key}
	switch p := cfg.Log.AuditFile; p {
	case "-":
		return audit.NewWith(os.Stderr, o), nil
	case "":
		return audit.Open(filepath.Join(cfg.DataDir, "audit.log"), o)
	default:
		return audit.Open(p, o)
	}
}

// controlAudit records control-socket actions with the peer's identity.
type controlAudit struct{ l *audit.Log }

// Operator implements control.Auditor.
func (a controlAudit) Operator(action, id string, who control.Peer, result string) error {
	return a.l.Operator(action, id, who.String(), result)
}

// openPortalStore opens the pickup store when messages can be left for
// pickup, this node serves the portal, a marketing client's recipients
// are checked against the suppression list kept in it, or the store
// already exists (an operator recorded consents or suppressions in it):
// the consent register is read from it at every delivery.
func (g *gateway) openPortalStore() error {
	if !usesPortal(g.cfg) && g.cfg.Portal.Listen == "" && !hasMarketing(g.cfg) && !g.cfg.Bounces.Enabled() && portalStoreExists(g.cfg) != nil {
		return nil
	}
	st, master, err := openPortalStore(context.Background(), g.cfg, false)
	if err != nil {
		return fmt.Errorf("portal store: %w", err)
	}
	g.portalStore, g.portalMaster = st, master
	st.Start(context.Background())
	g.stats = stats.NewRecorder(st, g.log)
	g.pending, err = openSuppressionOutbox(st, g.audit, g.log, g.cfg.DataDir, pendingRetry, pendingGauge(g.reg))
	return err
}

// hasMarketing reports whether some client sends campaigns.
func hasMarketing(cfg *config.Config) bool {
	return slices.ContainsFunc(cfg.Clients, config.Client.Marketing)
}

func (g *gateway) startQueue() error {
	var shared *store.DB // PostgreSQL: nodes share what they learn
	if g.cfg.SharedStore() {
		db, err := g.sharedDB()
		if err != nil {
			return err
		}
		shared = db
	}
	courier, verified, err := newCourier(g.cfg, g.log, g.reg, shared)
	if err != nil {
		return err
	}
	g.courier, g.verified = courier, verified
	verified.Start(context.Background())
	var next mail.Courier = courier
	if len(g.cfg.DKIM) > 0 {
		signer, err := newDKIM(g.cfg)
		if err != nil {
			return err
		}
		next = &dkim.Courier{Signer: signer, Next: courier}
	}
	if g.cfg.Bounces.Enabled() {
		if next, err = g.verpCourier(next); err != nil {
			return err
		}
	}
	if hasMarketing(g.cfg) {
		tokens, err := unsubscribeTokens(g.cfg)
		if err != nil {
			return err
		}
		next = &unsubscribe.Courier{Tokens: tokens, BaseURL: g.cfg.Portal.BaseURL, Mailto: g.cfg.Portal.UnsubscribeMailto,
			Marketing: func(client string) bool { return marketingClient(g.cfg, client) }, Next: next}
	}
	var pickup portalbox.Store
	var consents encrypt.Consents
	if g.portalStore != nil {
		pickup, consents = box.New(g.portalStore), consentRegister{g.portalStore}
	}
	// The encryptor is the queue's courier, so it is built first; its
	// portal notifications reach the queue once the queue is open.
	spool := &lateSubmitter{}
	next, g.protect, err = newProtector(g.cfg, g.log, g.reg, next, pickup, spool, courier, consents)
	if err != nil {
		return err
	}
	key, err := queue.LoadOrCreateKey(g.cfg.Queue.KeyFile, g.cfg.SpoolDir())
	if err != nil {
		return err
	}
	bounces, err := bounce.NewMetrics(g.reg)
	if err != nil {
		return err
	}
	q, err := queue.New(queue.Config{
		Dir: g.cfg.SpoolDir(), Key: key, Courier: next, Hostname: g.cfg.Hostname,
		Schedule: g.cfg.Delivery.Retry.Schedule, MaxAge: g.cfg.Delivery.Retry.MaxAge,
		Workers: max(g.cfg.Delivery.MaxConnections, 1), MinFree: g.cfg.Queue.MinFree,
		Bulk: marketingSet(g.cfg), Logger: g.log, Registerer: g.reg,
		Audit: queueEvents{bounceObserver: bounceObserver{Log: g.audit, metrics: bounces, cfg: g.cfg, outbox: g.pending, log: g.log, stats: g.stats},
			tracker: g.apiTracker, hooks: g.hooks},
	})
	if err != nil {
		return err
	}
	spool.q.Store(q)
	if err := q.Start(context.Background()); err != nil {
		return err
	}
	g.queue = q
	if g.cfg.Delivery.TLS.Report.Enabled && verified.Reports != nil {
		g.tlsReports = startTLSReporter(g.cfg, verified, q, g.log)
	}
	g.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sealgate_queue_oldest_age_seconds", Help: "Age of the oldest queued message."},
		func() float64 { return q.Oldest().Seconds() }))
	return nil
}

func (g *gateway) startSMTP() error {
	tlsCfg, err := serverTLS(g.cfg, g.certs)
	if err != nil {
		return err
	}
	engine, err := newPolicy(g.cfg)
	if err != nil {
		return err
	}
	g.policy = &policyHolder{}
	g.policy.p.Store(engine)
	var suppressions smtpd.SuppressionList
	if g.portalStore != nil {
		suppressions = suppressionHooks{SuppressionList: g.pending, hooks: g.hooks, stats: g.stats}
	}
	authFailures, err := g.sharedAuthFailures()
	if err != nil {
		return err
	}
	s, err := smtpd.New(smtpd.Config{
		Hostname: g.cfg.Hostname, Listeners: listeners(g.cfg), TLS: tlsCfg, Clients: clients(g.cfg),
		Limits: limits(g.cfg), Policy: policyChecker{g.policy}, Queue: g.queue, Audit: acceptEvents{g.audit, g.hooks, g.stats}, VerifyPassword: passwd.Verify,
		Logger: g.log, Registerer: g.reg, Suppressions: suppressions, AuthFailures: authFailures,
	})
	if err != nil {
		return err
	}
	// A node left draining answers 421 from its first connection on.
	s.SetDraining(g.node.out())
	if err := s.Start(); err != nil {
		return err
	}
	g.smtpd = s
	return nil
}

func (g *gateway) startOps() error {
	c, err := control.Listen(control.Options{Path: controlSocket(g.cfg), Queue: g.queue,
		Audit: controlAudit{g.audit}, Reload: g.reload, Ready: g.readiness, Health: g.health, Node: g.node})
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	g.control = c
	if g.cfg.Metrics.Listen == "" {
		return nil
	}
	m, err := metrics.Listen(g.cfg.Metrics.Listen, g.reg, g.readiness)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	g.metrics = m
	return nil
}

// close stops accepting, lets deliveries in flight finish until ctx ends,
// and leaves everything else in the spool.
func (g *gateway) close(ctx context.Context) error {
	g.ready.Store(false)
	var errs []error
	if g.node != nil {
		g.node.close() // a drain goes on at the next start
	}
	if g.cluster != nil {
		errs = append(errs, g.cluster.Close())
	}
	if g.api != nil {
		errs = append(errs, g.api.Close(ctx))
	}
	if g.smtpd != nil {
		errs = append(errs, g.smtpd.Close(ctx))
	}
	if g.portal != nil {
		errs = append(errs, g.portal.Close(ctx))
	}
	if g.bounces != nil {
		errs = append(errs, g.bounces.Close(ctx))
	}
	if g.forget != nil {
		g.forget.Stop()
	}
	if g.tlsReports != nil {
		g.tlsReports.close() // before the queue it submits to
	}
	if g.queue != nil {
		errs = append(errs, g.queue.Close(ctx))
	}
	if g.apiTracker != nil {
		g.apiTracker.Close() // after the queue that reports to it
	}
	g.index.close(g.audit) // after the queue, whose outcomes it indexes
	g.pending.close()      // after the queue and the listeners that suppress
	if g.hooks != nil {
		errs = append(errs, g.hooks.Close()) // after the queue that reports to it
	}
	if g.protect != nil {
		g.protect.Close()
	}
	if g.courier != nil {
		errs = append(errs, g.courier.Close())
	}
	if g.verified != nil {
		g.verified.Close()
	}
	if g.control != nil {
		errs = append(errs, g.control.Close(context.Background()))
	}
	if g.metrics != nil {
		errs = append(errs, g.metrics.Close(context.Background()))
	}
	if g.stats != nil {
		errs = append(errs, g.stats.Close(ctx)) // after everything that counts
	}
	if g.portalStore != nil {
		errs = append(errs, g.portalStore.Close(context.Background()))
	}
	if g.limitSweep != nil {
		g.limitSweep.Stop()
	}
	if g.storeDB != nil {
		errs = append(errs, g.storeDB.Close())
	}
	errs = append(errs, g.audit.Close())
	return errors.Join(errs...)
}

// serverTLS is the TLS config of the SMTP listeners (and the portal when
// it has no certificate of its own), served from certs so a reload can
// renew the certificate.
func serverTLS(cfg *config.Config, certs *certCache) (*tls.Config, error) {
	if cfg.TLS.Cert == "" {
		return nil, nil
	}
	if cfg.TLS.Generate {
		names := []string{cfg.Hostname, "localhost", "127.0.0.1", "::1"}
		if _, err := certgen.EnsureSelfSigned(cfg.TLS.Cert, cfg.TLS.Key, names); err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
	}
	if certs == nil {
		certs = &certCache{}
	}
	c, err := certs.config("smtp", cfg.TLS.Cert, cfg.TLS.Key)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	return c, nil
}

// marketingSet reports whether a client is of kind marketing, from a set
// made once (the check runs for every message the queue schedules).
func marketingSet(cfg *config.Config) func(client string) bool {
	set := map[string]bool{}
	for _, c := range cfg.Clients {
		if c.Marketing() {
			set[c.Name] = true
		}
	}
	return func(client string) bool { return set[client] }
}

// shaping maps delivery.shaping onto the delivery client; nil when it is
// off, so unshaped delivery takes no shaping lock.
func shaping(cfg *config.Config) *delivery.Shaping {
	s := cfg.Delivery.Shaping
	if !s.Enabled {
		return nil
	}
	limits := func(l config.ShapingLimits) delivery.ProviderLimits {
		return delivery.ProviderLimits{Connections: l.Connections, MessagesPerConnection: l.MessagesPerConnection,
			PerMinute: l.PerMinute, PerHour: l.PerHour}
	}
	ds := &delivery.Shaping{Limits: limits(s.ShapingLimits), Hold: s.Hold, RecoverStep: s.RecoverStep, MaxWait: s.MaxWait,
		Providers: make(map[string]delivery.ProviderLimits, len(s.Providers)), Marketing: marketingSet(cfg)}
	for name, l := range s.Providers {
		ds.Providers[name] = limits(l)
	}
	return ds
}

// newCourier builds the delivery client and its verified-transport parts;
// shared, when set, keeps MTA-STS policies and TLS results in the shared
// store too.
func newCourier(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer, shared *store.DB) (*delivery.Client, *delivery.Verified, error) {
	d := cfg.Delivery
	roots, err := rootCAs(d.TLS.CAFile)
	if err != nil {
		return nil, nil, err
	}
	vc := delivery.VerifiedConfig{DNSServers: d.DNS.Servers, TrustAD: d.DNS.TrustAD,
		RootCAs: roots, MTASTSDir: filepath.Join(cfg.DataDir, "mta-sts"), Reports: d.TLS.Report.Enabled,
		ReportDir: filepath.Join(cfg.DataDir, "tlsrpt"), Registerer: reg, Logger: log}
	if shared != nil { // no typed nil in the interfaces
		vc.MTASTSShared, vc.ReportShared = shared, shared
	}
	v, err := delivery.NewVerified(vc)
	if err != nil {
		return nil, nil, fmt.Errorf("delivery: %w", err)
	}
	known := slices.Sorted(maps.Keys(d.Shaping.Providers))
	provs, err := delivery.NewProviders(delivery.ProvidersConfig{Known: known}, reg)
	if err != nil {
		v.Close()
		return nil, nil, err
	}
	dc := delivery.Config{
		Providers: provs, Hostname: cfg.Hostname, Routes: d.Routes, Smarthost: d.Smarthost, RootCAs: roots,
		TLSPolicyNames: d.TLS.Policy, TrustedHops: d.TLS.TrustedHops, MaxConnsPerDest: d.MaxConnectionsPerDestination,
		MaxConns: d.MaxConnections, Shaping: shaping(cfg), Registerer: reg, Logger: log,
	}
	if d.SmarthostAuth.Username != "" {
		pw, err := os.ReadFile(d.SmarthostAuth.PasswordFile)
		if err != nil {
			v.Close()
			return nil, nil, fmt.Errorf("smarthost password: %w", err)
		}
		dc.SmarthostUser, dc.SmarthostPass = d.SmarthostAuth.Username, strings.TrimSpace(string(pw))
	}
	v.Apply(&dc)
	c, err := delivery.New(dc)
	if err != nil {
		v.Close()
		return nil, nil, err
	}
	return c, v, nil
}

func rootCAs(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("delivery.tls.ca_file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("delivery.tls.ca_file %s: no certificates", caFile)
	}
	return pool, nil
}

func newDKIM(cfg *config.Config) (*dkim.Signer, error) {
	keys := make([]dkim.KeyConfig, len(cfg.DKIM))
	for i, k := range cfg.DKIM {
		keys[i] = dkim.KeyConfig{Domain: k.Domain, Selector: k.Selector, KeyPath: k.Key}
	}
	s, err := dkim.NewSigner(keys)
	if err != nil {
		return nil, fmt.Errorf("dkim: %w", err)
	}
	return s, nil
}
