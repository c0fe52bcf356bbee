package smtpd

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// guardedListener wraps accepted connections in a guardConn, applies the
// connection limits (all clients together, and per client: an IPv4
// address or an IPv6 /64), starts the session lifetime at the first byte,
// and hands go-smtp a cmdConn: sealgate runs implicit TLS and STARTTLS
// itself, below go-smtp.
type guardedListener struct {
	net.Listener
	tlsConfig *tls.Config // non-nil: implicit TLS
	starttls  *tls.Config // non-nil: STARTTLS offered
	perIP     *connCounter
	srv       *Server
	listener  string
}

// Accept never returns a connection over a limit: such clients get 421
// and are closed here.
func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if errors.Is(l.srv.refusing(), errDraining) {
			l.refuseDraining(c)
			continue
		}
		key := clientKey(remoteIP(c))
		if !l.srv.connRate.allow(key.String(), time.Now()) {
			refuse(c, l.srv, "connection_rate", "421 4.7.0 Too many connections from your address, try again later\r\n")
			continue
		}
		switch l.perIP.acquire(key) {
		case capClient:
			refuse(c, l.srv, "connection_limit", "421 4.7.0 Too many connections from your address\r\n")
			continue
		case capTotal:
			refuse(c, l.srv, "connection_cap", "421 4.3.2 Too many connections, try again later\r\n")
			continue
		}
		return l.serve(c, key), nil
	}
}

// serve wraps an accepted connection; its session lifetime starts now,
// before any command, so a client that never says EHLO is closed too.
func (l *guardedListener) serve(c net.Conn, key netip.Prefix) net.Conn {
	l.srv.m.connections.WithLabelValues(l.listener).Inc()
	l.srv.m.open.Inc()
	g := newGuardConn(c, l.tlsConfig != nil, func(reason string) {
		l.srv.m.aborted.WithLabelValues(reason).Inc()
	})
	lifetime := time.AfterFunc(l.srv.cfg.Limits.SessionLifetime, func() {
		g.Abort("lifetime", "421 4.4.2 Session too long, closing connection\r\n")
	})
	var once sync.Once
	release := func() {
		once.Do(func() { lifetime.Stop(); l.perIP.release(key); l.srv.m.open.Dec() })
	}
	rc := &releasingConn{guardConn: g, release: release}
	return newCmdConn(g, rc, l.tlsConfig, l.starttls)
}

// refuseDraining answers a new connection to a draining node with 421
// 4.3.2 in place of the greeting; an implicit-TLS client, which expects a
// handshake, is closed without a word (it retries later too).
func (l *guardedListener) refuseDraining(c net.Conn) {
	if l.tlsConfig != nil {
		l.srv.m.rejected.WithLabelValues("draining").Inc()
		c.Close()
		return
	}
	refuse(c, l.srv, "draining", "421 4.3.2 "+l.srv.cfg.Hostname+" Service not available: this node is draining, try again later\r\n")
}

// refuse answers a connection over a limit and closes it.
func refuse(c net.Conn, srv *Server, reason, reply string) {
	srv.m.rejected.WithLabelValues(reason).Inc()
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write([]byte(reply))
	c.Close()
}

// releasingConn releases the connection's slots and stops its lifetime
// timer when it closes.
type releasingConn struct {
	*guardConn
	release func()
}

func (r *releasingConn) Close() error {
	r.release()
	return r.guardConn.Conn.Close()
}

func remoteIP(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		a, _ := netip.AddrFromSlice(ta.IP)
		return a.Unmap()
	}
	return netip.Addr{}
}

// clientKey is what one client is counted as: an IPv4 address, or the /64
// of an IPv6 address (one host usually holds a whole /64).
func clientKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// capResult says which connection limit, if any, refused a connection.
type capResult int

const (
	capOK     capResult = iota
	capClient           // the client has its most connections open
	capTotal            // the server has its most connections open
)

// connCounter limits concurrent connections, per client and in total.
type connCounter struct {
	mu        sync.Mutex
	maxTotal  int
	maxClient int
	total     int
	count     map[netip.Prefix]int
}

func newConnCounter(maxTotal, maxClient int) *connCounter {
	return &connCounter{maxTotal: maxTotal, maxClient: maxClient, count: map[netip.Prefix]int{}}
}

func (c *connCounter) acquire(key netip.Prefix) capResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.maxClient > 0 && c.count[key] >= c.maxClient {
		return capClient
	}
	if c.maxTotal > 0 && c.total >= c.maxTotal {
		return capTotal
	}
	c.count[key]++
	c.total++
	return capOK
}

func (c *connCounter) release(key netip.Prefix) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.count[key]--; c.count[key] <= 0 {
		delete(c.count, key)
	}
}
