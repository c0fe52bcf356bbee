package config

import (
	"strings"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// Policy actions and encryption methods.
const (
	ActionDeliver    = string(mail.ActionDeliver)
	ActionEncrypt    = string(mail.ActionEncrypt)
	ActionBlock      = string(mail.ActionBlock)
	ActionQuarantine = string(mail.ActionQuarantine)

	MethodPGP    = string(mail.MethodPGP)
	MethodSMIME  = string(mail.MethodSMIME)
	MethodTLS    = string(mail.MethodTLS)
	MethodPortal = string(mail.MethodPortal)

	DefaultEncryptIfPHI = "encrypt_if_phi" // encrypt messages with PHI, deliver the rest
	DefaultEncryptAll   = "encrypt_all"    // encrypt every message
	DefaultDeliver      = "deliver"        // deliver what has no PHI, even if a rule does not match
)

// Policy decides, from content and context, what happens to a message.
type Policy struct {
	// DefaultAction is DefaultEncryptIfPHI, DefaultEncryptAll or
	// DefaultDeliver. PHI is encrypted under every one of them.
	DefaultAction string `yaml:"default_action"`
	// SubjectTags in a Subject ask for encryption; they are removed from the
	// subject before delivery. Matched case-insensitively.
	SubjectTags []string `yaml:"subject_tags"`
	// Unreadable is the action (ActionDeliver, ActionEncrypt,
	// ActionQuarantine, ActionBlock) for content that cannot be read:
	// an encrypted PDF, an unknown charset, a limit hit. It may hold PHI.
	Unreadable string     `yaml:"unreadable"`
	Rules      []Rule     `yaml:"rules"`
	Scan       ScanLimits `yaml:"scan"`
}

// Rule is a context rule: when every condition in If holds, Then applies.
// Every matching rule is applied in order; a rule can raise protection (or
// force a method), never lower it below what the content requires.
type Rule struct {
	Name string `yaml:"name"` // for logs and audit; defaults to "rules[N]"
	If   Match  `yaml:"if"`
	Then Then   `yaml:"then"`
}

// Match holds a rule's conditions; every non-empty one must hold. Sender,
// Client, RecipientDomain and the header value are shell-style globs
// (path.Match syntax), compared without regard to case.
type Match struct {
	SubjectTag      string `yaml:"subject_tag"`      // a tag in the Subject
	RecipientDomain string `yaml:"recipient_domain"` // any recipient's domain
	Sender          string `yaml:"sender"`           // the envelope sender
	Client          string `yaml:"client"`           // a client name from clients
	Header          string `yaml:"header"`           // "Name: value glob"
}

// Then is a rule's outcome: an Action and, for ActionEncrypt, optionally the
// Method to force. In YAML it is a scalar action ("encrypt") or a map with
// one key ({encrypt: portal}).
type Then struct {
	Action string // ActionDeliver, ActionEncrypt, ActionBlock, ActionQuarantine
	Method string // "" (choose by encryption.order) or a Method* constant
}

// ScanLimits bound the work of reading one message, so hostile input ends in
// a verdict and never in a hang.
type ScanLimits struct {
	MaxDepth        int           `yaml:"max_depth"`                    // MIME nesting, message/rfc822 included
	MaxParts        int           `yaml:"max_parts"`                    // MIME parts
	MaxDecodedBytes int64         `yaml:"max_decoded_bytes" cfg:"size"` // decoded bytes over all parts
	MaxPartBytes    int64         `yaml:"max_part_bytes" cfg:"size"`    // decoded bytes of one part
	MaxUnzipBytes   int64         `yaml:"max_unzip_bytes" cfg:"size"`   // decompressed bytes of one attachment
	MaxZipEntries   int           `yaml:"max_zip_entries"`              // entries in one archive
	MaxXMLDepth     int           `yaml:"max_xml_depth"`                // element nesting of XML and JSON
	Timeout         time.Duration `yaml:"timeout"`                      // wall time of one check
	// Media is which image, audio and video parts count as unreadable: MediaDecoration
	// (all but small inline images an HTML body shows through cid:), MediaProtect (all)
	// or MediaIgnore (none).
	Media string `yaml:"media"`
}

// Media settings (policy.scan.media).
const (
	MediaDecoration = "decoration"
	MediaProtect    = "protect"
	MediaIgnore     = "ignore"
)

// Encryption chooses and configures the protection methods.
type Encryption struct {
	// Order is tried per recipient; the first possible method wins.
	Order []string `yaml:"order"`
	PGP   PGP      `yaml:"pgp"`
	SMIME SMIME    `yaml:"smime"`
	// Subject replaces the outer Subject of PGP and S/MIME messages; the
	// real one travels inside (protected headers).
	Subject string `yaml:"subject"`
	// PortalSubject is the subject of the portal notification (no PHI).
	PortalSubject string `yaml:"portal_subject"`
	// TLSAcceptPKIX lets the tls method protect PHI over a PKIX-valid
	// certificate alone, even for an MX name from unauthenticated DNS.
	// Default false: the next hop must be authenticated end to end (DANE,
	// MTA-STS enforce, or a trusted route or smarthost).
	TLSAcceptPKIX bool `yaml:"tls_accept_pkix"`
}

// PGP configures OpenPGP (PGP/MIME, RFC 3156).
type PGP struct {
	Keyring    string `yaml:"keyring" cfg:"path"`     // folder of armored public keys
	WKD        bool   `yaml:"wkd"`                    // look keys up by Web Key Directory
	ArchiveKey string `yaml:"archive_key" cfg:"path"` // also encrypt to this public key
	SignKey    string `yaml:"sign_key" cfg:"path"`    // armored secret key to sign with
}

// SMIME configures S/MIME (RFC 8551).
type SMIME struct {
	Certs    string `yaml:"certs" cfg:"path"`     // folder of recipients' PEM certificates
	SignCert string `yaml:"sign_cert" cfg:"path"` // organisation certificate to sign with
	SignKey  string `yaml:"sign_key" cfg:"path"`
}

// TLS requirement levels for delivery, weakest first.
const (
	TLSPolicyNone     = "none"
	TLSPolicyMay      = "may"
	TLSPolicyEncrypt  = "encrypt"
	TLSPolicyVerify   = "verify"
	TLSPolicyDANE     = "dane"
	TLSPolicyDANEOnly = "dane-only"
)

// Delivery configures how mail leaves.
type Delivery struct {
	// Routes send a domain's mail to host:port instead of its MX.
	Routes map[string]string `yaml:"routes"`
	// Smarthost, if set, receives all mail without a route (host:port).
	Smarthost     string        `yaml:"smarthost"`
	SmarthostAuth SmarthostAuth `yaml:"smarthost_auth"`
	TLS           DeliveryTLS   `yaml:"tls"`
	DNS           DNS           `yaml:"dns"`
	Retry         Retry         `yaml:"retry"`
	// MaxConnectionsPerDestination bounds concurrent connections to one
	// destination host; MaxConnections bounds all outgoing connections.
	MaxConnectionsPerDestination int `yaml:"max_connections_per_destination"`
	MaxConnections               int `yaml:"max_connections"`
	// Shaping paces delivery per destination provider.
	Shaping Shaping `yaml:"shaping"`
}

// Shaping configures traffic shaping per destination provider: the
// domains whose MX hosts share a registrable domain (google.com,
// outlook.com, ...) share one budget. Off unless Enabled.
type Shaping struct {
	Enabled bool `yaml:"enabled"`
	// ShapingLimits are every provider's budget unless Providers has one.
	ShapingLimits `yaml:",inline"`
	// Hold is how long a provider that throttled gets no new mail;
	// RecoverStep the interval of each step back to its full rate;
	// MaxWait the longest a message waits in place for its provider's
	// budget before it is paced: put back in the queue until the start
	// the shaper booked for it (no delivery attempt counted).
	Hold        time.Duration `yaml:"hold"`
	RecoverStep time.Duration `yaml:"recover_step"`
	MaxWait     time.Duration `yaml:"max_wait"`
	// Providers overrides the limits per provider (registrable domain of
	// the MX hosts, e.g. "google.com"); unset fields take the built-in
	// budget of google.com, yahoodns.net and outlook.com
	// (delivery.BuiltinProviders), then the defaults.
	Providers map[string]ShapingLimits `yaml:"providers"`
}

// ShapingLimits are one provider's budget.
type ShapingLimits struct {
	// Connections caps concurrent deliveries to the provider.
	Connections int `yaml:"connections"`
	// MessagesPerConnection closes a connection after that many messages.
	MessagesPerConnection int `yaml:"messages_per_connection"`
	// PerMinute caps new deliveries per minute; 0 = no cap until the
	// provider throttles.
	PerMinute int `yaml:"per_minute"`
	// PerHour caps new deliveries per hour; 0 = no hourly cap.
	PerHour int `yaml:"per_hour"`
}

// SmarthostAuth is the smarthost login. The password is read from a file so
// it never sits in the config.
type SmarthostAuth struct {
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file" cfg:"path"`
}

// DeliveryTLS is the outgoing TLS configuration.
type DeliveryTLS struct {
	// CAFile adds PEM roots to the system's for SMTP and MTA-STS fetches.
	CAFile string `yaml:"ca_file" cfg:"path"`
	// Policy maps a recipient domain, or "default", to a TLSPolicy* level.
	Policy map[string]string `yaml:"policy"`
	// TrustedHops are routes or the smarthost (host:port, as written
	// there) declared as the final hop or trusted: a certificate verified
	// for their configured name counts as authenticated transport
	// ("pinned") for the tls method.
	TrustedHops []string  `yaml:"trusted_hops"`
	Report      TLSReport `yaml:"report"`
}

// TLSReport configures SMTP TLS reporting (RFC 8460).
type TLSReport struct {
	Enabled      bool   `yaml:"enabled"`
	Organization string `yaml:"organization"`
	Contact      string `yaml:"contact"` // contact-info in reports
}

// DNS configures the resolver used for delivery.
type DNS struct {
	// Servers are host:port; empty means the system resolver.
	Servers []string `yaml:"servers"`
	// TrustAD trusts the servers' AD bit (DNSSEC), as DANE needs; only for
	// a validating resolver reached over a trusted path.
	TrustAD bool `yaml:"trust_ad"`
}

// Retry is the backoff for temporary delivery failures.
type Retry struct {
	// Schedule is the wait before each retry; the last repeats.
	Schedule []time.Duration `yaml:"schedule"`
	// MaxAge is how long a message may stay queued before it bounces.
	MaxAge time.Duration `yaml:"max_age"`
}

// Portal configures the HTTPS pickup site.
type Portal struct {
	Listen  string `yaml:"listen"`   // host:port; "" disables serving here
	BaseURL string `yaml:"base_url"` // links in notifications
	// Store is the old name of the top-level store (its URL), still
	// accepted; when both are set they must agree.
	Store string `yaml:"store"`
	// MasterKeyFile wraps the per-message keys; outside the portal store.
	MasterKeyFile string `yaml:"master_key_file" cfg:"path"`
	// UnsubscribeKeyFile authenticates the one-click unsubscribe links of
	// marketing mail (created 0600 if absent; nodes sharing a portal share
	// it); default <data_dir>/keys/unsubscribe.key.
	UnsubscribeKeyFile string `yaml:"unsubscribe_key_file" cfg:"path"`
	// UnsubscribeMailto, when set, is offered in List-Unsubscribe next to
	// the HTTPS link, with the link's token in the subject. With
	// bounces.domain set the bounce listener takes mail to it and acts on
	// the requests; otherwise sealgate does not read that mailbox.
	UnsubscribeMailto string        `yaml:"unsubscribe_mailto"`
	MessageTTL        time.Duration `yaml:"message_ttl"`
	SessionIdle       time.Duration `yaml:"session_idle"`
	CodeTTL           time.Duration `yaml:"code_ttl"`
	MaxCodeAttempts   int           `yaml:"max_code_attempts"`
	RequirePassword   bool          `yaml:"require_password"`
	RequireTOTP       bool          `yaml:"require_totp"`
	ReadReceipts      bool          `yaml:"read_receipts"`
	// TLS overrides the top-level tls for the portal.
	TLS      CertFiles `yaml:"tls"`
	Branding Branding  `yaml:"branding"`
	// From is the sender of one-time codes, replies and read receipts;
	// default portal@<hostname>. FromName is its display name; default
	// branding.organization.
	From     string `yaml:"from"`
	FromName string `yaml:"from_name"`
	// Language ("en" or "es") is used for pages when the browser asks for
	// no language the portal has, and for notifications; default "en".
	Language string `yaml:"language"`
	// TimeZone (IANA, e.g. America/New_York) writes times in
	// notifications and on pages when the browser has not told its own;
	// default UTC.
	TimeZone string `yaml:"time_zone"`
}

// Branding is shown on portal pages and notifications.
type Branding struct {
	Organization string `yaml:"organization"`
	Logo         string `yaml:"logo" cfg:"path"` // PNG or SVG file
	Color        string `yaml:"color"`           // "#RRGGBB"
	Support      string `yaml:"support"`         // contact shown to recipients
	// SupportPhone is linked with tel: and SupportEmail with mailto: on
	// every page, in the code mail and in notifications.
	SupportPhone string `yaml:"support_phone"`
	SupportEmail string `yaml:"support_email"`
}

// TLSPolicyFor returns the configured TLS level for domain, falling back to
// the "default" entry and then to TLSPolicyMay.
func (t DeliveryTLS) TLSPolicyFor(domain string) string {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if p, ok := t.Policy[domain]; ok {
		return p
	}
	if p, ok := t.Policy["default"]; ok {
		return p
	}
	return TLSPolicyMay
}

// CertFiles names an existing certificate chain and private key, PEM.
type CertFiles struct {
	Cert string `yaml:"cert" cfg:"path"`
	Key  string `yaml:"key" cfg:"path"`
}

// PortalTLS returns the portal's certificate files: Portal.TLS if set,
// else the top-level TLS (which may be generated).
func (c *Config) PortalTLS() TLSFiles {
	if p := c.Portal.TLS; p.Cert != "" {
		return TLSFiles{Cert: p.Cert, Key: p.Key}
	}
	return c.TLS
}

// API configures the HTTP send API (POST /v1/messages, GET
// /v1/messages/{id}) on a listener of its own. Its keys are made with
// `sealgate apikey new --client NAME` and belong to a configured client.
type API struct {
	// Listen is host:port; "" (the default) disables the API.
	Listen string `yaml:"listen"`
	// TLS is the API's certificate; default the gateway's tls.
	TLS CertFiles `yaml:"tls"`
	// MaxRequestSize bounds a request body (JSON with base64 attachments
	// is a third larger than the message). Default: 4/3 of
	// limits.max_message_size plus 64 KiB.
	MaxRequestSize int64 `yaml:"max_request_size" cfg:"size"`
}

// APITLS returns the API's certificate files: API.TLS if set, else the
// gateway's.
func (c *Config) APITLS() TLSFiles {
	if a := c.API.TLS; a.Cert != "" {
		return TLSFiles{Cert: a.Cert, Key: a.Key}
	}
	return c.TLS
}

// Webhook events, the allowed values of webhooks[].events.
var WebhookEvents = []string{"accepted", "delivered", "deferred", "bounced", "complained", "suppressed", "portal_opened", "portal_replied"}

// Webhook is one receiver of delivery events, POSTed as JSON with an
// HMAC-SHA256 signature made with the secret in SecretFile.
type Webhook struct {
	URL        string   `yaml:"url"`
	SecretFile string   `yaml:"secret_file" cfg:"path"`
	Events     []string `yaml:"events"`
	// CAFile, if set, is the only CA trusted for URL's certificate (a
	// receiver with a private CA); default: the system's roots.
	CAFile string `yaml:"ca_file" cfg:"path"`
}

// DefaultBouncesAddress is where the bounce listener listens by default.
const DefaultBouncesAddress = "127.0.0.1:2526"

// Bounces configures VERP return paths for marketing mail and the
// listener that takes the asynchronous bounces (RFC 3464) and complaints
// (ARF, RFC 5965) that come back to them.
type Bounces struct {
	// Domain is the bounce domain, e.g. bounce.example-clinic.org (a
	// subdomain of the sending domain, for DMARC alignment); "" (the
	// default) turns VERP and the listener off.
	Domain string `yaml:"domain"`
	// LocalPart is the fixed part of bounce addresses: LocalPart+TOKEN@Domain.
	LocalPart string `yaml:"local_part"`
	// Listen is the bounce listener's host:port (the bounce domain's MX
	// must reach it on port 25).
	Listen string `yaml:"listen"`
	// FeedbackAddress, when set, also takes complaint reports from the
	// mailbox providers' feedback loops.
	FeedbackAddress string `yaml:"feedback_address"`
	// KeyFile authenticates the tokens (32 bytes, created 0600; nodes
	// share it); default <data_dir>/keys/bounces.key.
	KeyFile string `yaml:"key_file" cfg:"path"`
	// Retention is how long a bounce address is honoured after its mail
	// left.
	Retention time.Duration `yaml:"retention"`
	// MaxMessageSize bounds a report.
	MaxMessageSize int64 `yaml:"max_message_size" cfg:"size"`
}

// Enabled reports whether marketing mail gets bounce addresses.
func (b Bounces) Enabled() bool { return b.Domain != "" }

// Cluster configures this node's part in a group of nodes: the listener
// on which it takes over a draining peer's spool, the peers it hands its
// own spool to when drained, and how peers authenticate each other (a
// cluster CA for mutual TLS, a shared secret, or both; never neither).
type Cluster struct {
	// Listen is host:port of the hand-off listener; "" takes no
	// hand-offs.
	Listen string `yaml:"listen"`
	// Peers are host:port of other nodes' hand-off listeners, tried in
	// order by `sealgate node drain` without --peer.
	Peers []string `yaml:"peers"`
	// TLS is this node's certificate and key (issued by CA) and the
	// cluster CA that every peer's certificate must come from.
	TLS ClusterTLS `yaml:"tls"`
	// SecretFile holds a shared secret (at least 32 bytes) each side
	// proves over the TLS session.
	SecretFile string `yaml:"secret_file" cfg:"path"`
	// DrainDeadline is how long a drain delivers before handing the
	// rest to a peer, when `sealgate node drain` is not given
	// --deadline. Default: 10m.
	DrainDeadline time.Duration `yaml:"drain_deadline"`
	// ResumeOnStart makes a node that was left draining or drained serve
	// again when it starts (for orchestrators that drain a node only to
	// replace it, with its volume, by a new one). Default false: a
	// drained node stays out of service across restarts until `sealgate
	// node resume`.
	ResumeOnStart bool `yaml:"resume_on_start"`
}

// ClusterTLS are the cluster channel's certificate files.
type ClusterTLS struct {
	Cert string `yaml:"cert" cfg:"path"`
	Key  string `yaml:"key" cfg:"path"`
	CA   string `yaml:"ca" cfg:"path"`
}

// Enabled reports whether the node takes part in hand-offs at all.
func (c Cluster) Enabled() bool { return c.Listen != "" || len(c.Peers) > 0 }
