package smtpd

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"time"
)

// guardedListener wraps accepted connections in a guardConn, applies the
// per-IP connection limit, and hands go-smtp a cmdConn: sealgate runs
// implicit TLS and STARTTLS itself, below go-smtp.
type guardedListener struct {
	net.Listener
	tlsConfig *tls.Config // non-nil: implicit TLS
	starttls  *tls.Config // non-nil: STARTTLS offered
	perIP     *connCounter
	srv       *Server
	listener  string
}

// Accept never returns a connection over the per-IP limit: such clients
// get 421 and are closed here.
func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if !l.srv.connRate.allow(ip.String(), time.Now()) {
			l.srv.m.rejected.WithLabelValues("connection_rate").Inc()
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("421 4.7.0 Too many connections from your address, try again later\r\n"))
			c.Close()
			continue
		}
		if !l.perIP.acquire(ip) {
			l.srv.m.rejected.WithLabelValues("connection_limit").Inc()
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("421 4.7.0 Too many connections from your address\r\n"))
			c.Close()
			continue
		}
		l.srv.m.connections.WithLabelValues(l.listener).Inc()
		l.srv.m.open.Inc()
		var once sync.Once
		release := func() {
			once.Do(func() { l.perIP.release(ip); l.srv.m.open.Dec() })
		}
		g := newGuardConn(c, l.tlsConfig != nil, func(reason string) {
			l.srv.m.aborted.WithLabelValues(reason).Inc()
		})
		rc := &releasingConn{guardConn: g, release: release}
		return newCmdConn(g, rc, l.tlsConfig, l.starttls), nil
	}
}

// releasingConn releases the per-IP slot when the connection closes.
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

// connCounter limits concurrent connections per IP address.
type connCounter struct {
	mu    sync.Mutex
	max   int
	count map[netip.Addr]int
}

func newConnCounter(max int) *connCounter {
	return &connCounter{max: max, count: map[netip.Addr]int{}}
}

func (c *connCounter) acquire(ip netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max > 0 && c.count[ip] >= c.max {
		return false
	}
	c.count[ip]++
	return true
}

func (c *connCounter) release(ip netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.count[ip]--; c.count[ip] <= 0 {
		delete(c.count, ip)
	}
}
