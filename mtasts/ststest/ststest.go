// Package ststest runs an MTA-STS policy host (RFC 8461 §3.3) over HTTPS
// on a loopback address, for tests of the sending side.
package ststest

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/sealgate/sealgate/internal/testenv"
)

// Host is a running policy host.
type Host struct {
	port   string
	mu     sync.Mutex
	policy string
	ctype  string
	hits   int
}

// Start serves https://<ip>:<port>/.well-known/mta-sts.txt with cert until
// the test ends, on a free port of ip (Port): the fetching side is told
// that port (mtasts.Config.Port), so no privileged port is needed.
func Start(t testing.TB, ip string, cert tls.Certificate, policy string) *Host {
	t.Helper()
	return StartPort(t, ip, "0", cert, policy)
}

// StartPort is Start on the given port (a test that must bring a policy
// host up on a port its fetcher already knows). When the port cannot be
// bound, the test is skipped outside CI and fails in CI.
func StartPort(t testing.TB, ip, port string, cert tls.Certificate, policy string) *Host {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
	if err != nil {
		testenv.Missing(t, "ststest: cannot bind %s:%s (%v)", ip, port, err)
		return nil
	}
	_, bound, _ := net.SplitHostPort(ln.Addr().String())
	h := &Host{port: bound, policy: policy, ctype: "text/plain"}
	srv := &http.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Logf("ststest: %v", err)
		}
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return h
}

// SetPolicy changes the policy served (and its content type; "" keeps
// text/plain).
func (h *Host) SetPolicy(policy, contentType string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.policy = policy
	h.ctype = "text/plain"
	if contentType != "" {
		h.ctype = contentType
	}
}

// Port is the port the host listens on.
func (h *Host) Port() string { return h.port }

// Hits is the number of policy requests served.
func (h *Host) Hits() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits
}

// ServeHTTP implements http.Handler.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/.well-known/mta-sts.txt" {
		http.NotFound(w, r)
		return
	}
	h.mu.Lock()
	h.hits++
	policy, ctype := h.policy, h.ctype
	h.mu.Unlock()
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write([]byte(policy))
}
