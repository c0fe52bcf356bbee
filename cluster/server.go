package cluster

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/sealgate/sealgate/internal/certgen"
	"github.com/sealgate/sealgate/queue"
)

// frameTimeout bounds the wait for one frame, and for writing one.
const frameTimeout = 2 * time.Minute

// helloTimeout bounds the TLS handshake and the hello of a peer that has
// not been authenticated yet.
const helloTimeout = 15 * time.Second

// maxUnproven bounds the connections at once whose peer has not been
// authenticated yet; one more is closed at once. Peers are few: this is
// far more than a cluster needs, and far fewer file descriptors than a
// flood of connections to the listener would otherwise take from the
// gateway.
const maxUnproven = 32

// Options configure the hand-off listener.
type Options struct {
	// Addr is host:port to listen on.
	Addr string
	Auth Auth
	// Import writes a handed message durably to this node's spool; it
	// returns only once the message is on disk.
	Import func(queue.Handed) error
	// Accepting says whether this node takes hand-offs now (nil) or why
	// not: a node that is draining itself takes none.
	Accepting func() error
	Logger    *slog.Logger
}

// Server takes messages handed over by draining peers.
type Server struct {
	opts Options
	ln   net.Listener
	log  *slog.Logger
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool

	unproven chan struct{} // a slot per connection not yet authenticated
}

// Listen starts the hand-off listener. It refuses to start without peer
// authentication.
func Listen(opts Options) (*Server, error) {
	if err := opts.Auth.check(); err != nil {
		return nil, err
	}
	if opts.Import == nil {
		return nil, errors.New("cluster: no spool to import into")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := serverTLS(opts.Auth)
	if err != nil {
		return nil, err
	}
	ln, err := tls.Listen("tcp", opts.Addr, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, ln: ln, log: opts.Logger, conns: map[net.Conn]bool{}, unproven: make(chan struct{}, maxUnproven)}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func serverTLS(a Auth) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, ClientAuth: tls.NoClientCert}
	if a.Cert != nil {
		cfg.Certificates = []tls.Certificate{*a.Cert}
	} else {
		c, err := certgen.Ephemeral([]string{"sealgate-handoff"})
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	if a.CA != nil {
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, a.CA
	}
	return cfg, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops listening and closes open hand-off connections; a message
// whose write had not finished was not acknowledged, so its sender keeps
// it.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		select {
		case s.unproven <- struct{}{}:
		default:
			c.Close() // too many peers not yet authenticated
			continue
		}
		var once sync.Once
		proven := func() { once.Do(func() { <-s.unproven }) }
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer proven()
			s.handle(c.(*tls.Conn), proven)
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// handle serves one peer: handshake, hello, then messages until the peer
// closes. It calls proven once the peer is authenticated.
func (s *Server) handle(c *tls.Conn, proven func()) {
	remote := c.RemoteAddr().String()
	c.SetDeadline(time.Now().Add(helloTimeout))
	if err := c.Handshake(); err != nil {
		s.log.Warn("cluster: peer refused: TLS handshake failed", slog.String("remote", remote), slog.String("error", err.Error()))
		return
	}
	cs := c.ConnectionState()
	var h hello
	if err := readFrameMax(c, &h, maxHello); err != nil {
		return
	}
	if h.V != protocolVersion || !checkProof(s.opts.Auth.Secret, cs, "client", h.Proof) {
		s.log.Warn("cluster: peer refused: shared secret not proven", slog.String("remote", remote))
		writeFrame(c, hello{V: protocolVersion, Error: "not authenticated"})
		return
	}
	if s.opts.Accepting != nil {
		if err := s.opts.Accepting(); err != nil {
			writeFrame(c, hello{V: protocolVersion, Error: "not taking hand-offs: " + err.Error()})
			return
		}
	}
	p, err := proof(s.opts.Auth.Secret, cs, "server")
	if err != nil || writeFrame(c, hello{V: protocolVersion, Proof: p}) != nil {
		return
	}
	proven()
	s.log.Info("cluster: peer handing over its spool", slog.String("remote", remote))
	n := 0
	defer func() {
		s.log.Info("cluster: hand-off connection ended", slog.String("remote", remote), slog.Int("messages", n))
	}()
	for {
		c.SetDeadline(time.Now().Add(frameTimeout))
		var m queue.Handed
		if err := readFrame(c, &m); err != nil {
			if !errors.Is(err, io.EOF) {
				s.log.Warn("cluster: hand-off frame unreadable", slog.String("remote", remote), slog.String("error", err.Error()))
			}
			return
		}
		if err := s.opts.Import(m); err != nil {
			// The reason is this node's own state (spool full, closing), never message content.
			s.log.Error("cluster: handed message not taken", slog.String("remote", remote), slog.String("error", err.Error()))
			writeFrame(c, reply{Error: "not stored"})
			return
		}
		n++
		if err := writeFrame(c, reply{OK: true}); err != nil {
			return
		}
	}
}
