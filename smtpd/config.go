package smtpd

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mailtext"
)

// Listener is one address sealgate accepts mail on.
type Listener struct {
	Name    string
	Address string // host:port
	TLS     string // "none", "starttls" or "implicit"
	Auth    string // "required", "optional" or "none"
}

// Client is one identified sender of mail: a system or tool that may relay
// through sealgate, and the sender addresses it may use.
type Client struct {
	Name             string
	Username         string
	PasswordHash     string
	Networks         []netip.Prefix
	CertFingerprints []string // SHA-256 of the DER certificate, lower-case hex
	AllowedSenders   []string // globs: "*", "*@example.org", "user@example.org"
	// Marketing clients send campaigns: their recipients are checked
	// against the suppression list of the envelope sender's domain.
	// Transactional clients (false) are not checked unless
	// CheckSuppression is set.
	Marketing bool
	// CheckSuppression has a transactional client's recipients checked
	// against the list too (its null-sender mail, which has no list, is
	// not refused for it).
	CheckSuppression bool
}

// AuthFailureCounter counts failed logins per client key (an IPv4
// address or an IPv6 /64) in one-minute windows shared by several nodes.
type AuthFailureCounter interface {
	// AuthFailures returns the failures of key in the current window.
	AuthFailures(ctx context.Context, key string) (int, error)
	// AddAuthFailure counts one failure of key.
	AddAuthFailure(ctx context.Context, key string) error
}

// SharedAuthFailures is how many failed logins an address may have in a
// minute across nodes, as each node allows on its own (10 a minute).
const SharedAuthFailures = 10

// SuppressionList says whether marketing mail from a sending domain must
// not go to an address. An error is answered with a temporary failure:
// a list that cannot be read clears nobody.
type SuppressionList interface {
	Suppressed(ctx context.Context, domain, address string) (bool, error)
}

// Limits bound what one client may do.
type Limits struct {
	MaxMessageBytes   int64
	MaxRecipients     int
	MaxLineLength     int
	CommandTimeout    time.Duration
	DataTimeout       time.Duration
	SessionLifetime   time.Duration // from the first byte of the connection
	MaxConns          int           // concurrent connections, all clients together
	MaxConnsPerIP     int           // concurrent, per IPv4 address or IPv6 /64
	ConnsPerMinute    int           // new connections per IP per minute, 0 = unlimited
	MessagesPerMinute int           // per client, 0 = unlimited
	MaxAuthFailures   int           // per connection
}

// DefaultLimits are used for every zero field of Config.Limits.
var DefaultLimits = Limits{
	MaxMessageBytes: 25 << 20, MaxRecipients: 100, MaxLineLength: 2000,
	CommandTimeout: 5 * time.Minute, DataTimeout: 10 * time.Minute,
	SessionLifetime: 30 * time.Minute, MaxConns: 1000, MaxConnsPerIP: 50, MaxAuthFailures: 3,
}

// Verdict is what the policy decided about a message: the summary that
// travels with it unchanged into the spool and the audit log (PHI, action,
// forced method, rule, "detector×count" reasons, never values), and the
// Subject tag smtpd removes before queueing.
type Verdict struct {
	mail.PolicySummary
	SubjectTag string
}

// PolicyInput is the context the policy sees besides the message.
type PolicyInput struct {
	Sender     string
	Client     string
	Recipients []string
	// Header is the message's header as smtpd read it (never nil), so
	// that the policy does not read it again.
	Header *mailtext.Header
}

// Checker is the policy engine as smtpd sees it.
type Checker interface {
	Check(ctx context.Context, msg []byte, in PolicyInput) (Verdict, error)
}

// Enqueuer is the queue as smtpd sees it: Enqueue returns only once the
// message is durable.
type Enqueuer interface {
	Enqueue(ctx context.Context, env *mail.Envelope, body []byte) (string, error)
}

// SpaceChecker is implemented by a queue that keeps a free-space reserve
// (the queue does). When the Enqueuer is one, MAIL asks it whether a
// message of the declared SIZE (0 when none) still fits, so a client
// learns before it sends the data; an error matching
// mail.ErrInsufficientStorage is answered 452 4.3.1.
type SpaceChecker interface {
	CheckSpace(size int64) error
}

// Auditor records accepted and rejected messages for the audit log.
type Auditor interface {
	Accepted(env *mail.Envelope)
	Rejected(client, remote, reason string)
}

// Config is everything the SMTP server needs.
type Config struct {
	Hostname  string
	Listeners []Listener
	TLS       *tls.Config // server certificate; required for TLS listeners
	Clients   []Client
	Limits    Limits
	Policy    Checker // nil: every message is delivered
	Queue     Enqueuer
	Audit     Auditor
	// Suppressions is checked at RCPT for marketing clients; nil refuses
	// every recipient of a marketing client (temporarily), since nothing
	// could say who opted out.
	Suppressions SuppressionList
	// AuthFailures, when set, also counts failed logins per client
	// address where every node sees them (the shared store): an address
	// with SharedAuthFailures failures in the current minute is refused on
	// every node. When it cannot be read, each node's own count still
	// applies, so a store outage never stops logins.
	AuthFailures AuthFailureCounter
	// VerifyPassword checks a password against a configured hash.
	VerifyPassword func(hash string, password []byte) (bool, error)
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
}

func (l *Limits) fill() {
	d := DefaultLimits
	orDefault(&l.MaxMessageBytes, d.MaxMessageBytes)
	orDefault(&l.MaxRecipients, d.MaxRecipients)
	orDefault(&l.MaxLineLength, d.MaxLineLength)
	orDefault(&l.CommandTimeout, d.CommandTimeout)
	orDefault(&l.DataTimeout, d.DataTimeout)
	orDefault(&l.SessionLifetime, d.SessionLifetime)
	orDefault(&l.MaxConns, d.MaxConns)
	orDefault(&l.MaxConnsPerIP, d.MaxConnsPerIP)
	orDefault(&l.MaxAuthFailures, d.MaxAuthFailures)
}

// orDefault sets *v to d when *v is zero or negative.
func orDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}
