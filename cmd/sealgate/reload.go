package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/policy"
)

// certCache holds the gateway's TLS certificates behind GetCertificate, so
// a reload swaps them for new handshakes while sessions already open keep
// theirs.
//
// It is also the collector of sealgate_tls_certificate_expiry_timestamp_seconds,
// one series per certificate it serves, labelled by use (smtp, portal).
type certCache struct {
	mu    sync.Mutex
	slots map[[2]string]*atomic.Pointer[tls.Certificate]
	uses  map[[2]string]string
}

var certExpiryDesc = prometheus.NewDesc("sealgate_tls_certificate_expiry_timestamp_seconds",
	"When a certificate the gateway serves expires (its NotAfter, Unix seconds), by use: smtp, portal.",
	[]string{"use"}, nil)

// Describe implements prometheus.Collector.
func (c *certCache) Describe(ch chan<- *prometheus.Desc) { ch <- certExpiryDesc }

// Collect implements prometheus.Collector: the expiry of each certificate
// now served.
func (c *certCache) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, slot := range c.slots {
		if leaf := slot.Load().Leaf; leaf != nil {
			ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue,
				float64(leaf.NotAfter.Unix()), c.uses[k])
		}
	}
}

// config returns a server TLS config that serves the pair in certFile and
// keyFile, as last loaded; use labels it in the expiry metric.
func (c *certCache) config(use, certFile, keyFile string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		c.slots = map[[2]string]*atomic.Pointer[tls.Certificate]{}
		c.uses = map[[2]string]string{}
	}
	k := [2]string{certFile, keyFile}
	slot := c.slots[k]
	if slot == nil {
		slot = new(atomic.Pointer[tls.Certificate])
		slot.Store(&pair)
		c.slots[k], c.uses[k] = slot, use
	}
	return &tls.Config{MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return slot.Load(), nil }}, nil
}

// reload reads every pair again. Either all are read and swapped in, or
// none is and the error names the file.
func (c *certCache) reload() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fresh := map[[2]string]*tls.Certificate{}
	for k := range c.slots {
		pair, err := tls.LoadX509KeyPair(k[0], k[1])
		if err != nil {
			return fmt.Errorf("tls certificate %s: %w", k[0], err)
		}
		fresh[k] = &pair
	}
	for k, pair := range fresh {
		c.slots[k].Store(pair)
	}
	return nil
}

// policyHolder is the policy engine smtpd checks with; a reload replaces
// it for messages received from then on.
type policyHolder struct{ p atomic.Pointer[policy.Engine] }

// reload re-reads the configuration file, the TLS certificates, the key
// folders and the policy rules (SIGHUP and `sealgate reload`). A config
// that does not load, or a certificate that does not read, is refused with
// its error and the gateway keeps what it runs on; nothing is half
// applied. Settings that only a restart can change (listeners, clients,
// limits, …) are named in the log when they differ.
func (g *gateway) reload() error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	next := g.cfg
	if g.cfgPath != "" {
		c, err := config.Load(g.cfgPath)
		if err != nil {
			return err
		}
		next = c
	}
	engine, err := newPolicy(next)
	if err != nil {
		return err
	}
	if err := g.certs.reload(); err != nil {
		return err
	}
	if g.policy != nil {
		g.policy.p.Store(engine)
	}
	if g.protect != nil {
		g.protect.Reload()
	}
	attrs := []any{slog.String("config", g.cfgPath)}
	if restart := restartOnly(g.cfg, next); len(restart) > 0 {
		attrs = append(attrs, slog.String("restart_needed_for", strings.Join(restart, ",")))
	}
	g.log.Info("reloaded configuration, certificates, key folders and policy", attrs...)
	return nil
}

// reloadable are the top-level config keys a reload applies.
var reloadable = map[string]bool{"policy": true, "tls": true}

// restartOnly names the top-level config keys whose values differ between
// old and next and that a reload does not apply.
func restartOnly(old, next *config.Config) []string {
	var out []string
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(next).Elem()
	for _, f := range reflect.VisibleFields(ov.Type()) {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" || reloadable[name] {
			continue
		}
		if !reflect.DeepEqual(ov.FieldByIndex(f.Index).Interface(), nv.FieldByIndex(f.Index).Interface()) {
			out = append(out, name)
		}
	}
	return out
}
