// Package portal is sealgate's HTTPS pickup site. A recipient who has no
// key, certificate or authenticated transport (DANE, MTA-STS, a pinned
// hop) gets a notification with a link; the link leads here, where they prove control of their address with a
// one-time code, read the message, download its attachments and can reply
// securely to the sender. Messages live in package store; mail (codes,
// replies, read receipts) leaves through an injected Sender, which the
// gateway wires to its queue so it is protected like any other mail.
//
// What is kept, and where: the message content (subject, text, HTML,
// attachments and the original message) only encrypted, each message under
// its own AES-256-GCM key wrapped by the master key file; the link token
// only as a SHA-256 hash; codes only as keyed hashes; passwords as
// argon2id hashes; TOTP secrets and shared sessions wrapped by the master key. Addresses,
// dates, counts and the audit trail are kept in the clear for operators.
// Revocation and expiry destroy the key and the encrypted content at once; the
// metadata row and the audit trail stay. Logs carry message IDs and
// failure kinds, never addresses or content.
//
// The site's one script (static/tz.js, on the start and code pages only)
// fills a form field with the browser's time zone; the message page runs
// none. Pages come in the languages of package i18n. Every response carries a strict
// Content-Security-Policy, no-store caching and HSTS; cookies are Secure,
// HttpOnly and SameSite=Strict; every form carries a CSRF token; and
// nothing a visitor sees tells whether a link, message or address exists.
package portal

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/internal/i18n"
	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/store"
)

// Sender sends a complete RFC 5322 message. The gateway passes its queue,
// so portal mail is policy-checked, protected and DKIM-signed on its way.
type Sender interface {
	Send(ctx context.Context, m Mail) error
}

// Mail is one outgoing message: envelope and data.
type Mail struct {
	From string   // envelope sender
	To   []string // envelope recipients
	Data []byte   // RFC 5322 message, CRLF line endings
	// Sensitive marks mail that may hold PHI (a reply): the gateway must
	// protect it like a message with PHI. Codes and read receipts hold
	// none and must not themselves be sent to the portal.
	Sensitive bool
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Mail) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m Mail) error { return f(ctx, m) }

// Branding is shown on every page and in the code email.
type Branding struct {
	Organization string // e.g. "Example Clinic"
	Color        string // "#RRGGBB" for the header bar
	Support      string // a further contact line shown to recipients, e.g. opening hours
	// SupportPhone is the clinic's number as people write it
	// ("+1 (555) 010-0100"); pages link it with tel:. SupportEmail is an
	// address pages link with mailto:.
	SupportPhone, SupportEmail string
	Logo                       []byte // PNG or SVG, served from /static/logo
	LogoType                   string // its MIME type
}

// Options configure a Server.
type Options struct {
	Store  *store.Store
	Master *keywrap.Master // hashes one-time codes
	Sender Sender
	// From is the address codes, replies and receipts come from, such as
	// portal@example-clinic.org; FromName its display name (default the
	// organisation).
	From     string
	FromName string
	// Language is the catalogue used when the browser asks for none we
	// have, and for mail to senders (replies, receipts); default "en".
	Language string
	// TimeZone shows times when the browser has not told its own zone;
	// default UTC. The zone is always named next to the time.
	TimeZone        *time.Location
	Listen          string      // host:port for Start
	TLS             *tls.Config // required by Start; the site is HTTPS only
	SessionIdle     time.Duration
	CodeTTL         time.Duration
	MaxCodeAttempts int
	Lockout         time.Duration // after MaxCodeAttempts failures; default 15m
	ResendAfter     time.Duration // minimum time between codes; default 30s
	// MaxFailuresPerClient failed codes, passwords or authenticator codes
	// from one client address within Lockout block further tries from it;
	// default 20. Its network (IPv4 /24, IPv6 /64) may fail five times as
	// often.
	MaxFailuresPerClient int
	// MaxCodesPerClient code requests from one client address within
	// Lockout are served; further requests send nothing; default 10 (five
	// times as many per network).
	MaxCodesPerClient int
	// MaxLinksPerClient link opens (real or made up) from one client
	// address within Lockout are served; beyond them the client gets 429;
	// default 30 (five times as many per network).
	MaxLinksPerClient int
	// MaxRequestsPerClient requests of any kind from one client address
	// per minute are served; beyond them the client gets 429 with
	// Retry-After; default 120 (five times as many per network).
	MaxRequestsPerClient int
	ReadReceipts         bool // tell the sender when the message is first read
	// RequirePassword asks for a password after the code; the recipient
	// sets it on the first visit. RequireTOTP asks for an authenticator
	// code (RFC 6238); the recipient enrols on the first visit.
	RequirePassword, RequireTOTP bool
	Branding                     Branding
	// SharedSessions keeps browser sessions in the store instead of memory,
	// so portal nodes sharing one PostgreSQL need no session affinity.
	SharedSessions bool
	// OnEvent, when set, also receives every audit event the portal records
	// (for the gateway's audit log).
	OnEvent func(store.Event)
	// Unsubscribe, when set, serves the one-click unsubscribe links of
	// marketing mail at /u/{token}.
	Unsubscribe Unsubscriber
	Registerer  prometheus.Registerer // nil: metrics are not registered
	Log         *slog.Logger
	Now         func() time.Time
}

// Server is the pickup site.
type Server struct {
	opts     Options
	sessions sessionTable
	pages    *pages
	metrics  *metrics
	handler  http.Handler
	rates    rates
	decoys   decoys
	bg       sync.WaitGroup

	mu  sync.Mutex
	srv *http.Server
	ln  net.Listener
}

// New checks opts and builds the site; Start serves it.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Master == nil || opts.Sender == nil || opts.From == "" {
		return nil, errors.New("portal: store, master key, sender and from address are required")
	}
	if opts.Language != "" && !i18n.Supported(opts.Language) {
		return nil, fmt.Errorf("portal: language %q: want one of %v", opts.Language, i18n.Codes())
	}
	setDefaults(&opts)
	s := &Server{opts: opts}
	pg, err := loadPages(opts.Branding, s.lang)
	if err != nil {
		return nil, err
	}
	s.pages = pg
	s.sessions = newSessions(opts.SessionIdle, opts.Now)
	if opts.SharedSessions {
		s.sessions = newSharedSessions(opts.Store, opts.SessionIdle, opts.Now, opts.Log)
	}
	s.rates = newRates(opts)
	s.decoys = newDecoys(opts.Master, opts.SessionIdle, opts.Now)
	s.metrics = newMetrics(opts.Store, s.sessions)
	if opts.Registerer != nil {
		if err := s.metrics.register(opts.Registerer); err != nil {
			return nil, fmt.Errorf("portal: metrics: %w", err)
		}
	}
	s.handler = s.routes()
	return s, nil
}

func setDefaults(o *Options) {
	if o.SessionIdle <= 0 {
		o.SessionIdle = 15 * time.Minute
	}
	if o.CodeTTL <= 0 {
		o.CodeTTL = 10 * time.Minute
	}
	if o.MaxCodeAttempts <= 0 {
		o.MaxCodeAttempts = 5
	}
	if o.Lockout <= 0 {
		o.Lockout = 15 * time.Minute
	}
	if o.ResendAfter <= 0 {
		o.ResendAfter = 30 * time.Second
	}
	if o.MaxFailuresPerClient <= 0 {
		o.MaxFailuresPerClient = 20
	}
	if o.MaxCodesPerClient <= 0 {
		o.MaxCodesPerClient = 10
	}
	if o.MaxLinksPerClient <= 0 {
		o.MaxLinksPerClient = 30
	}
	if o.MaxRequestsPerClient <= 0 {
		o.MaxRequestsPerClient = 120
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Language == "" {
		o.Language = i18n.Default
	}
	if o.TimeZone == nil {
		o.TimeZone = time.UTC
	}
	if o.Branding.Organization == "" {
		o.Branding.Organization = "Secure messages"
	}
}

// Handler is the site, for serving behind a caller's own TLS listener.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on opts.Listen with opts.TLS and serves until Close.
func (s *Server) Start(ctx context.Context) error {
	if s.opts.TLS == nil {
		return errors.New("portal: no TLS configuration; the portal serves HTTPS only")
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	srv := &http.Server{
		Handler: s.handler, TLSConfig: s.opts.TLS.Clone(),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.opts.Log.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go srv.ServeTLS(ln, "", "")
	return nil
}

// Addr is the bound address after Start, or nil.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops serving, waiting for requests and code mails in flight
// until ctx ends, and forgets every session.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Shutdown(ctx)
	}
	s.drain(ctx)
	s.sessions.clear()
	return err
}

// drain waits for background code mails until ctx ends.
func (s *Server) drain(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// record appends an audit event to the store (and OnEvent). A failure is
// logged: the visitor's request goes on, the operator sees the warning.
func (s *Server) record(ctx context.Context, e store.Event) error {
	if e.At.IsZero() {
		e.At = s.opts.Now()
	}
	err := s.opts.Store.Record(ctx, e)
	if err != nil {
		s.opts.Log.Warn("portal: audit event not stored", slog.String("message", e.MessageID),
			slog.String("kind", e.Kind), slog.String("error_type", fmt.Sprintf("%T", err)))
	}
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(e)
	}
	return err
}
