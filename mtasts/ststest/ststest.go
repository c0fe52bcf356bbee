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
	mu     sync.Mutex
	policy string
	ctype  string
	hits   int
}

// Start serves https://<ip>:443/.well-known/mta-sts.txt with cert until the
// test ends. When port 443 on ip cannot be bound (not root), the test is
// skipped outside CI and fails in CI.
func Start(t testing.TB, ip string, cert tls.Certificate, policy string) *Host {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "443"))
	if err != nil {
		testenv.Missing(t, "ststest: cannot bind %s:443 (%v); needs root", ip, err)
		return nil
	}
	h := &Host{policy: policy, ctype: "text/plain"}
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
