package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/control"
	"github.com/sealgate/sealgate/delivery"
	"github.com/sealgate/sealgate/dkim"
	"github.com/sealgate/sealgate/internal/certgen"
	"github.com/sealgate/sealgate/metrics"
	"github.com/sealgate/sealgate/passwd"
	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/smtpd"
)

// gateway is one running sealgate: the components wired together, in the
// order they start and the reverse order they stop.
type gateway struct {
	cfg     *config.Config
	log     *slog.Logger
	reg     *prometheus.Registry
	audit   *audit.Log
	courier *delivery.Client
	queue   *queue.Queue
	smtpd   *smtpd.Server
	metrics *metrics.Server
	control *control.Server
	// closeProtect releases the protection layer (key caches, portal store).
	closeProtect func()
}

// controlSocket is where `sealgate queue` finds a running gateway.
func controlSocket(cfg *config.Config) string {
	return filepath.Join(cfg.DataDir, "control.sock")
}

// startGateway builds and starts every component. On error, whatever was
// started is stopped again.
func startGateway(cfg *config.Config, log *slog.Logger) (*gateway, error) {
	g := &gateway{cfg: cfg, log: log, reg: metrics.NewRegistry()}
	if err := g.start(); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.close(ctx)
		return nil, err
	}
	return g, nil
}

func (g *gateway) start() error {
	if err := os.MkdirAll(g.cfg.SpoolDir(), 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	if err := g.openAudit(); err != nil {
		return err
	}
	if err := g.startQueue(); err != nil {
		return err
	}
	if err := g.startSMTP(); err != nil {
		return err
	}
	return g.startOps()
}

func (g *gateway) openAudit() error {
	switch p := g.cfg.Log.AuditFile; p {
	case "":
		p = filepath.Join(g.cfg.DataDir, "audit.log")
		fallthrough
	default:
		l, err := audit.Open(p)
		if err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		g.audit = l
	case "-":
		g.audit = audit.New(os.Stderr)
	}
	return nil
}

func (g *gateway) startQueue() error {
	courier, err := newCourier(g.cfg, g.log, g.reg)
	if err != nil {
		return err
	}
	g.courier = courier
	var next queue.Courier = courier
	if len(g.cfg.DKIM) > 0 {
		signer, err := newDKIM(g.cfg)
		if err != nil {
			return err
		}
		next = &dkim.Courier{Signer: signer, Next: courier}
	}
	next, g.closeProtect, err = newProtector(g.cfg, g.log, g.reg, next)
	if err != nil {
		return err
	}
	key, err := queue.LoadOrCreateKey(g.cfg.Queue.KeyFile)
	if err != nil {
		return err
	}
	q, err := queue.New(queue.Config{
		Dir: g.cfg.SpoolDir(), Key: key, Courier: next, Hostname: g.cfg.Hostname,
		Schedule: g.cfg.Delivery.Retry.Schedule, MaxAge: g.cfg.Delivery.Retry.MaxAge,
		Workers: max(g.cfg.Delivery.MaxConnections, 1), Logger: g.log, Registerer: g.reg, Audit: g.audit,
	})
	if err != nil {
		return err
	}
	if err := q.Start(context.Background()); err != nil {
		return err
	}
	g.queue = q
	g.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sealgate_queue_oldest_age_seconds", Help: "Age of the oldest queued message."},
		func() float64 { return q.Oldest().Seconds() }))
	return nil
}

func (g *gateway) startSMTP() error {
	tlsCfg, err := serverTLS(g.cfg)
	if err != nil {
		return err
	}
	engine, err := newPolicy(g.cfg)
	if err != nil {
		return err
	}
	s, err := smtpd.New(smtpd.Config{
		Hostname: g.cfg.Hostname, Listeners: listeners(g.cfg), TLS: tlsCfg, Clients: clients(g.cfg),
		Limits: limits(g.cfg), Policy: policyChecker{engine}, Queue: g.queue, Audit: g.audit, VerifyPassword: passwd.Verify,
		Logger: g.log, Registerer: g.reg,
	})
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	g.smtpd = s
	return nil
}

func (g *gateway) startOps() error {
	c, err := control.Listen(controlSocket(g.cfg), g.queue)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	g.control = c
	if g.cfg.Metrics.Listen == "" {
		return nil
	}
	m, err := metrics.Listen(g.cfg.Metrics.Listen, g.reg, func() error { return nil })
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	g.metrics = m
	return nil
}

// close stops accepting, lets deliveries in flight finish until ctx ends,
// and leaves everything else in the spool.
func (g *gateway) close(ctx context.Context) error {
	var errs []error
	if g.smtpd != nil {
		errs = append(errs, g.smtpd.Close(ctx))
	}
	if g.queue != nil {
		errs = append(errs, g.queue.Close(ctx))
	}
	if g.closeProtect != nil {
		g.closeProtect()
	}
	if g.courier != nil {
		errs = append(errs, g.courier.Close())
	}
	if g.control != nil {
		errs = append(errs, g.control.Close(context.Background()))
	}
	if g.metrics != nil {
		errs = append(errs, g.metrics.Close(context.Background()))
	}
	errs = append(errs, g.audit.Close())
	return errors.Join(errs...)
}

func serverTLS(cfg *config.Config) (*tls.Config, error) {
	if cfg.TLS.Cert == "" {
		return nil, nil
	}
	if cfg.TLS.Generate {
		names := []string{cfg.Hostname, "localhost", "127.0.0.1", "::1"}
		if _, err := certgen.EnsureSelfSigned(cfg.TLS.Cert, cfg.TLS.Key, names); err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
	}
	pair, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func newCourier(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (*delivery.Client, error) {
	d := cfg.Delivery
	dc := delivery.Config{
		Hostname: cfg.Hostname, Routes: d.Routes, Smarthost: d.Smarthost,
		TLSPolicy: map[string]queue.TLSLevel{}, MaxConnsPerDest: d.MaxConnectionsPerDestination,
		Registerer: reg, Logger: log,
	}
	for dom, level := range d.TLS.Policy {
		if dom == "default" {
			dc.DefaultTLS = tlsLevel(level)
			continue
		}
		dc.TLSPolicy[strings.ToLower(dom)] = tlsLevel(level)
	}
	if d.SmarthostAuth.Username != "" {
		pw, err := os.ReadFile(d.SmarthostAuth.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("smarthost password: %w", err)
		}
		dc.SmarthostUser, dc.SmarthostPass = d.SmarthostAuth.Username, strings.TrimSpace(string(pw))
	}
	roots, err := rootCAs(d.TLS.CAFile)
	if err != nil {
		return nil, err
	}
	dc.RootCAs = roots
	dc.Resolver = resolver(d.DNS.Servers)
	return delivery.New(dc)
}

// tlsLevel maps a delivery.tls.policy value to a queue level. DANE and
// MTA-STS levels are treated as verify until the resolver supports them.
func tlsLevel(s string) queue.TLSLevel {
	switch s {
	case "none":
		return queue.TLSNone
	case "may":
		return queue.TLSMay
	case "encrypt":
		return queue.TLSEncrypt
	}
	return queue.TLSVerify
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

// resolver uses the configured DNS servers, or the system's.
func resolver(servers []string) delivery.Resolver {
	if len(servers) == 0 {
		return nil
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		var err error
		for _, s := range servers {
			var c net.Conn
			if c, err = d.DialContext(ctx, network, s); err == nil {
				return c, nil
			}
		}
		return nil, err
	}}
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
