package config

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/mail"
)

// Default listen addresses of the no-config setup.
const (
	DefaultSMTPAddress       = "127.0.0.1:2525"
	DefaultSubmissionAddress = "127.0.0.1:2587"
	DefaultMetricsAddress    = "127.0.0.1:9464"
	DefaultPortalAddress     = "127.0.0.1:8443"
)

// DefaultMinFree is queue.min_free when the file does not set it: room
// for state records and DSNs when new mail is refused.
const DefaultMinFree = 64 << 20

// base returns the defaults that apply under every config file: everything
// except listeners, clients and other site-specific choices.
func base() *Config {
	return &Config{
		Hostname: hostname(),
		DataDir:  "/var/lib/sealgate",
		Policy: Policy{
			DefaultAction: DefaultEncryptIfPHI,
			SubjectTags:   []string{"[secure]", "[encrypt]"},
			Unreadable:    ActionEncrypt,
			Scan:          defaultScan(),
		},
		Encrypt: Encryption{
			Order:         []string{MethodPGP, MethodSMIME, MethodTLS, MethodPortal},
			Subject:       "Encrypted message",
			PortalSubject: "You have a secure message",
		},
		Delivery: Delivery{
			TLS:                          DeliveryTLS{Policy: map[string]string{"default": TLSPolicyMay}},
			Retry:                        Retry{Schedule: slices.Clone(mail.DefaultRetrySchedule), MaxAge: mail.DefaultMaxAge},
			MaxConnectionsPerDestination: 10,
			MaxConnections:               200,
			Shaping: Shaping{ShapingLimits: ShapingLimits{Connections: 10, MessagesPerConnection: 100},
				Hold: time.Minute, RecoverStep: time.Minute, MaxWait: 2 * time.Second},
		},
		Portal: Portal{
			MessageTTL: 30 * 24 * time.Hour, SessionIdle: 15 * time.Minute,
			CodeTTL: 10 * time.Minute, MaxCodeAttempts: 5,
		},
		Bounces: Bounces{LocalPart: "bounces", Listen: DefaultBouncesAddress, Retention: 30 * 24 * time.Hour,
			MaxMessageSize: 10 * 1000 * 1000},
		Metrics: Metrics{Listen: DefaultMetricsAddress},
		Queue:   Queue{ShutdownTimeout: 30 * time.Second, MinFree: DefaultMinFree},
		Limits:  defaultLimits(),
		Log:     Log{Level: "info", Format: "text"},
		Cluster: Cluster{DrainDeadline: DefaultDrainDeadline},
	}
}

// DefaultDrainDeadline is how long `sealgate node drain` delivers before
// handing the rest of the spool to a peer, unless told otherwise.
const DefaultDrainDeadline = 10 * time.Minute

// defaultScan are the limits on reading one message.
func defaultScan() ScanLimits {
	return ScanLimits{
		MaxDepth: 32, MaxParts: 1000, MaxDecodedBytes: 64 << 20, MaxPartBytes: 32 << 20,
		MaxUnzipBytes: 32 << 20, MaxZipEntries: 2000, MaxXMLDepth: 256, Timeout: 20 * time.Second,
		Media: MediaDecoration,
	}
}

// defaultLimits are the session and client limits; RFC 5321 §4.5.3.2 gives
// the command (5 min) and end-of-data (10 min) timeouts.
func defaultLimits() Limits {
	return Limits{
		MaxMessageSize:             25 * 1000 * 1000,
		MaxRecipients:              100,
		MaxLineLength:              4096,
		CommandTimeout:             5 * time.Minute,
		DataTimeout:                10 * time.Minute,
		SessionLifetime:            time.Hour,
		MaxConnections:             1000,
		MaxConnectionsPerClient:    50,
		ConnectionsPerClientPerMin: 600,
		MessagesPerClientPerMinute: 6000,
		MaxAuthFailures:            3,
	}
}

// hostname returns the machine's name, or "localhost".
func hostname() string {
	if h, err := os.Hostname(); err == nil && addr.HostName(h) {
		return h
	}
	return "localhost"
}

// Default returns the safe local setup used when sealgate runs without a
// config file: loopback listeners with STARTTLS and a self-signed
// certificate to be generated, one client for local programs, the portal and
// metrics on loopback, and all data under <workDir>/sealgate-data.
func Default(workDir string) *Config {
	if abs, err := filepath.Abs(workDir); err == nil {
		workDir = abs
	}
	c := base()
	c.DataDir = filepath.Join(workDir, "sealgate-data")
	c.Listeners = []Listener{
		{Name: "smtp", Address: DefaultSMTPAddress, TLS: TLSStartTLS, Auth: AuthOptional},
		{Name: "submission", Address: DefaultSubmissionAddress, TLS: TLSStartTLS, Auth: AuthOptional},
	}
	c.TLS = TLSFiles{Generate: true}
	c.Clients = []Client{{
		Name:           "local",
		Networks:       []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		AllowedSenders: []string{"*"},
	}}
	c.Portal.Listen = DefaultPortalAddress
	c.Portal.BaseURL = "https://localhost:8443"
	c.derive()
	return c
}

// derive fills the defaults that depend on other keys (paths under
// data_dir, listener modes) and normalises case-insensitive keys.
func (c *Config) derive() {
	inData := func(p *string, rel ...string) {
		if *p == "" {
			*p = filepath.Join(append([]string{c.DataDir}, rel...)...)
		}
	}
	if c.TLS.Generate {
		inData(&c.TLS.Cert, "tls", "cert.pem")
		inData(&c.TLS.Key, "tls", "key.pem")
	}
	inData(&c.Queue.KeyFile, "keys", "spool.key")
	inData(&c.Portal.MasterKeyFile, "keys", "portal.key")
	inData(&c.Portal.UnsubscribeKeyFile, "keys", "unsubscribe.key")
	inData(&c.Bounces.KeyFile, "keys", "bounces.key")
	inData(&c.Log.AuditFile, "audit.log")
	inData(&c.Log.AuditKeyFile, "keys", "audit.key")
	if c.API.MaxRequestSize == 0 {
		c.API.MaxRequestSize = c.Limits.MaxMessageSize/3*4 + 64<<10
	}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		l.TLS = cmp.Or(l.TLS, TLSStartTLS)
		l.Auth = cmp.Or(l.Auth, AuthOptional)
	}
	for i := range c.Policy.Rules {
		if c.Policy.Rules[i].Name == "" {
			c.Policy.Rules[i].Name = fmt.Sprintf("rules[%d]", i)
		}
	}
	for i := range c.Clients {
		for j, f := range c.Clients[i].CertFingerprints {
			if n, err := normFingerprint(f); err == nil {
				c.Clients[i].CertFingerprints[j] = n
			}
		}
	}
	c.Delivery.Routes = lowerKeys(c.Delivery.Routes)
	c.Delivery.TLS.Policy = lowerKeys(c.Delivery.TLS.Policy)
	for i, s := range c.Delivery.DNS.Servers {
		if _, err := netip.ParseAddr(s); err == nil || addr.HostName(s) {
			c.Delivery.DNS.Servers[i] = net.JoinHostPort(s, "53")
		}
	}
}

// lowerKeys returns m with lower-case keys (domain names).
func lowerKeys(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}
