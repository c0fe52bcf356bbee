package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
)

// Server is sealgate's SMTP front end: one go-smtp server per configured
// listener, each behind sealgate's own guards.
type Server struct {
	cfg      Config
	log      *slog.Logger
	m        *metrics
	perIP    *connCounter
	sendRate *limiter // messages per client name
	connRate *limiter // new connections per IP
	authFail *limiter // failed logins per IP
	byUser   map[string]*Client
	// dummyHash stands in for an unknown user's password hash.
	dummyHash string

	mu      sync.Mutex
	servers []*smtp.Server
	addrs   []net.Addr
	closing bool
	// draining: the node is being taken out of service (SetDraining).
	draining bool
}

// New checks the configuration and prepares the server.
func New(cfg Config) (*Server, error) {
	if cfg.Queue == nil {
		return nil, errors.New("smtpd: no queue")
	}
	if len(cfg.Listeners) == 0 {
		return nil, errors.New("smtpd: no listeners")
	}
	for _, l := range cfg.Listeners {
		if l.TLS != "none" && cfg.TLS == nil {
			return nil, fmt.Errorf("smtpd: listener %s needs a TLS certificate", l.Name)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	cfg.Limits.fill()
	s := &Server{
		cfg: cfg, log: cfg.Logger, m: newMetrics(cfg.Registerer),
		perIP:    newConnCounter(cfg.Limits.MaxConns, cfg.Limits.MaxConnsPerIP),
		sendRate: newLimiter(cfg.Limits.MessagesPerMinute, max(cfg.Limits.MessagesPerMinute, 1)),
		authFail: newLimiter(10, 10),
		connRate: newLimiter(cfg.Limits.ConnsPerMinute, max(cfg.Limits.ConnsPerMinute/6, 1)),
		byUser:   map[string]*Client{},
	}
	for i := range cfg.Clients {
		if u := cfg.Clients[i].Username; u != "" {
			s.byUser[u] = &cfg.Clients[i]
		}
	}
	s.dummyHash = dummyHash(cfg.Clients)
	s.registerLimiters(cfg.Registerer)
	return s, nil
}

// registerLimiters exports how many keys each limiter tracks; idle keys
// expire after ten minutes, so a stuck count means a live flood.
func (s *Server) registerLimiters(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	for name, l := range map[string]*limiter{"send_rate": s.sendRate, "auth_failures": s.authFail, "connection_rate": s.connRate} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sealgate_smtpd_limiter_keys", Help: "Clients or addresses a rate limiter tracks.",
			ConstLabels: prometheus.Labels{"limiter": name}}, func() float64 { return float64(l.size()) }))
	}
}

// Start listens on every configured address and serves in the background.
func (s *Server) Start() error {
	for i := range s.cfg.Listeners {
		l := &s.cfg.Listeners[i]
		ln, err := net.Listen("tcp", l.Address)
		if err != nil {
			s.Close(context.Background())
			return fmt.Errorf("smtpd: listener %s: %w", l.Name, err)
		}
		srv := s.newSMTPServer(l)
		gl := &guardedListener{Listener: ln, perIP: s.perIP, srv: s, listener: l.Name}
		switch l.TLS {
		case "implicit":
			gl.tlsConfig = s.tlsConfig()
		case "starttls":
			gl.starttls = s.tlsConfig()
		}
		s.mu.Lock()
		s.servers = append(s.servers, srv)
		s.addrs = append(s.addrs, ln.Addr())
		s.mu.Unlock()
		go srv.Serve(gl)
		s.log.Info("listening", slog.String("listener", l.Name), slog.String("address", ln.Addr().String()),
			slog.String("tls", l.TLS), slog.String("auth", l.Auth))
	}
	return nil
}

// Addrs returns the bound addresses, in listener order.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.addrs...)
}

func (s *Server) tlsConfig() *tls.Config {
	c := s.cfg.TLS.Clone()
	c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	// A client certificate is asked for, never required: it is one way
	// among three to identify a client, matched by fingerprint.
	c.ClientAuth = tls.RequestClientCert
	return c
}

func (s *Server) newSMTPServer(l *Listener) *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return s.newSession(c, l)
	}))
	lim := s.cfg.Limits
	srv.Domain = s.cfg.Hostname
	srv.ReadTimeout = lim.CommandTimeout
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = lim.MaxMessageBytes
	srv.MaxRecipients = lim.MaxRecipients
	srv.MaxLineLength = lim.MaxLineLength
	// sealgate runs TLS below go-smtp (cmdConn), so go-smtp never sees a
	// *tls.Conn: the session offers and takes AUTH only under TLS.
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	srv.EnableREQUIRETLS = true
	srv.EnableDSN = true
	srv.ErrorLog = log.New(io.Discard, "", 0) // go-smtp's own log lines may carry client input
	return srv
}

// Close stops accepting connections and waits for open sessions to end
// until ctx is done, then closes them. Nothing accepted is lost: a
// session cut off before its 250 was never acknowledged.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	servers := s.servers
	s.mu.Unlock()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			srv.Close()
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SetDraining puts every listener in or out of draining: while draining,
// a new session is answered 421 4.3.2 and closed, an open session may
// finish the transaction it is in but not start another, and Submit (the
// HTTP API) is refused the same way. The sender retries, at another node
// behind the same name.
func (s *Server) SetDraining(on bool) {
	s.mu.Lock()
	s.draining = on
	s.mu.Unlock()
}

// refusing returns the reply for new sessions and transactions: shutting
// down, draining, or nil.
func (s *Server) refusing() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return errShutdown
	case s.draining:
		return errDraining
	}
	return nil
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}
