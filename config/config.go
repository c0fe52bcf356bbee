// Package config loads, checks and defaults sealgate's one YAML file.
//
// The file is decoded from a yaml.Node tree so that every error can name the
// file, the line and the key path, as in
//
//	sealgate.yaml:12: listeners[1].address: overlaps listeners[0] (0.0.0.0:25)
//
// Unknown keys are errors. All problems are collected and returned together
// as Errors, one per line.
//
// Value syntax:
//   - Durations are Go durations ("90s", "5m", "1h30m") or whole days
//     ("2d"), optionally followed by a Go duration ("1d12h"). Negative
//     durations are errors.
//   - Sizes are plain bytes ("1048576") or a number with a unit: kB, MB, GB
//     (powers of 1000) or KiB, MiB, GiB (powers of 1024); "K", "M", "G" are
//     read as the binary units. Case of the unit does not matter.
//   - Networks are CIDR prefixes ("10.20.0.0/16"); a bare address means that
//     one host. Host bits must be zero and /0 is refused.
//   - Wherever a list of strings is expected, a single string is a list of one.
//   - Relative file paths are relative to the directory of the config file.
//
// Defaults are applied before the file is read, so a key that is absent keeps
// its default; Default returns the complete no-config setup that `sealgate
// serve` uses without a file. configs/sealgate.example.yaml documents every
// key.
package config

import (
	"net/netip"
	"path/filepath"
	"time"
)

// Config is sealgate's complete configuration.
type Config struct {
	// Hostname is the name sealgate uses in its greeting, in HELO/EHLO and
	// in Received and Message-ID headers.
	Hostname string `yaml:"hostname"`
	// DataDir holds the spool, keys, portal store and caches.
	DataDir string `yaml:"data_dir" cfg:"path"`
	// Store is the shared store (portal, suppression list, rate limits):
	// sqlite or a postgres:// URL, with pool limits.
	Store     Store       `yaml:"store"`
	Listeners []Listener  `yaml:"listeners"`
	TLS       TLSFiles    `yaml:"tls"`
	Clients   []Client    `yaml:"clients"`
	Policy    Policy      `yaml:"policy"`
	Encrypt   Encryption  `yaml:"encryption"`
	Delivery  Delivery    `yaml:"delivery"`
	DKIM      []DKIMKey   `yaml:"dkim"`
	Portal    Portal      `yaml:"portal"`
	Metrics   Metrics     `yaml:"metrics"`
	Queue     Queue       `yaml:"queue"`
	Limits    Limits      `yaml:"limits"`
	Log       Log         `yaml:"log"`
	API       API         `yaml:"api"`
	Webhooks  []Webhook   `yaml:"webhooks"`
	Bounces   Bounces     `yaml:"bounces"`
	Cluster   Cluster     `yaml:"cluster"`
	src       *sourceInfo // where each key came from; nil for Default
}

// Listener values for TLS mode and client authentication.
const (
	TLSNone     = "none"     // plaintext; loopback addresses only
	TLSStartTLS = "starttls" // STARTTLS, required before MAIL
	TLSImplicit = "implicit" // TLS from the first byte (submissions, port 465)

	AuthRequired = "required" // every session must AUTH
	AuthOptional = "optional" // AUTH offered; networks and certificates also identify
	AuthNone     = "none"     // no AUTH; clients identified by network or certificate
)

// Listener is one SMTP listening socket.
type Listener struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"` // host:port; host an IP, "localhost" or empty (all)
	TLS     string `yaml:"tls"`     // TLSNone, TLSStartTLS or TLSImplicit
	Auth    string `yaml:"auth"`    // AuthRequired, AuthOptional or AuthNone
}

// TLSFiles names a certificate chain and its private key, PEM encoded.
type TLSFiles struct {
	Cert string `yaml:"cert" cfg:"path"`
	Key  string `yaml:"key" cfg:"path"`
	// Generate asks for a self-signed certificate to be made at Cert/Key if
	// they do not exist yet. Default() sets it; it is never set silently
	// for a config file.
	Generate bool `yaml:"generate"`
}

// Client is one system allowed to hand mail to sealgate. It is identified by
// username and password (SMTP AUTH), by client-certificate fingerprint or by
// source network, and may only use AllowedSenders.
type Client struct {
	Name         string `yaml:"name"`
	Username     string `yaml:"username"`
	PasswordHash string `yaml:"password_hash"` // argon2id PHC string or bcrypt
	// Networks are the source prefixes that identify this client.
	Networks []netip.Prefix `yaml:"networks"`
	// CertFingerprints are SHA-256 fingerprints of client certificates,
	// normalised to lower-case hex without separators.
	CertFingerprints []string `yaml:"cert_fingerprints"`
	// AllowedSenders are patterns for the envelope and header From, as
	// addr.CheckGlob accepts: "*", "*@domain", "*@*.domain",
	// "user@domain", "user@*.domain"; and NullSender ("<>"), which lets the
	// client use the null reverse-path MAIL FROM:<> (a relaying MTA's own
	// bounces). "*" allows the null sender too; no other pattern does.
	AllowedSenders []string `yaml:"allowed_senders"`
	// Kind is KindTransactional (the default when empty: reminders,
	// results; not suppressed unless CheckSuppression) or KindMarketing (campaigns: recipients
	// on the sending domain's suppression list are refused at RCPT, and
	// messages get one-click unsubscribe headers).
	Kind string `yaml:"kind"`
	// CheckSuppression has a transactional client's recipients refused at
	// RCPT too when they are on the sending domain's suppression list
	// (default false: transactional mail is never suppressed). Marketing
	// clients are always checked.
	CheckSuppression bool `yaml:"check_suppression"`
}

// Client kinds.
const (
	KindTransactional = "transactional"
	KindMarketing     = "marketing"
)

// Marketing reports whether the client sends campaigns (kind: marketing).
func (c Client) Marketing() bool { return c.Kind == KindMarketing }

// NullSender in allowed_senders allows the null reverse-path, MAIL FROM:<>
// (RFC 5321 §4.5.5), and matches no header From.
const NullSender = "<>"

// Limits bound what one client and one session may do.
type Limits struct {
	MaxMessageSize             int64         `yaml:"max_message_size" cfg:"size"`
	MaxRecipients              int           `yaml:"max_recipients"`
	MaxLineLength              int           `yaml:"max_line_length" cfg:"size"`
	CommandTimeout             time.Duration `yaml:"command_timeout"`
	DataTimeout                time.Duration `yaml:"data_timeout"`
	SessionLifetime            time.Duration `yaml:"session_lifetime"`
	MaxConnections             int           `yaml:"max_connections"` // concurrent, all clients together
	MaxConnectionsPerClient    int           `yaml:"max_connections_per_client"`
	ConnectionsPerClientPerMin int           `yaml:"connections_per_client_per_minute"` // 0: unlimited
	MessagesPerClientPerMinute int           `yaml:"messages_per_client_per_minute"`    // 0: unlimited
	MaxAuthFailures            int           `yaml:"max_auth_failures"`                 // per connection
}

// Queue configures the spool. The spool itself is SpoolDir().
type Queue struct {
	// KeyFile holds the spool encryption key (created 0600 if absent). It
	// must live outside the spool directory.
	KeyFile         string        `yaml:"key_file" cfg:"path"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MinFree is the free space the spool's file system keeps for state
	// records and DSNs: below it new mail is refused with 452 4.3.1, as
	// Postfix's queue_minfree does. 0 keeps no reserve.
	MinFree int64 `yaml:"min_free" cfg:"size"`
}

// Metrics configures the Prometheus listener.
type Metrics struct {
	Listen string `yaml:"listen"` // host:port; "" disables
}

// Log configures operational and audit logs.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
	// AuditFile receives the audit log; "-" means standard error.
	AuditFile string `yaml:"audit_file" cfg:"path"`
	// AuditKeyFile holds the Ed25519 key (a 32-byte seed, created 0600 if
	// absent) that signs the audit log's checkpoints.
	AuditKeyFile string `yaml:"audit_key_file" cfg:"path"`
}

// DKIMKey signs outgoing mail from Domain.
type DKIMKey struct {
	Domain   string `yaml:"domain"`
	Selector string `yaml:"selector"`
	Key      string `yaml:"key" cfg:"path"` // PEM private key, RSA or Ed25519
}

// SpoolDir is the directory of the message spool, <data_dir>/spool.
func (c *Config) SpoolDir() string { return filepath.Join(c.DataDir, "spool") }

// SourceFile is the file the config was read from, or "<defaults>".
func (c *Config) SourceFile() string { return c.src.fileName() }
