package pgp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

func TestZBase32(t *testing.T) {
	// Example from draft-koch-openpgp-webkey-service §3.1.
	u := WKDURLs("Joe.Doe@Example.ORG")
	if want := "https://openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"; u[0] != want {
		t.Errorf("advanced URL\n got %s\nwant %s", u[0], want)
	}
	if want := "https://example.org/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"; u[1] != want {
		t.Errorf("direct URL\n got %s\nwant %s", u[1], want)
	}
}

// wkdServer is a TLS server for example.org and openpgpkey.example.org with
// a client that reaches it for any host name and trusts its certificate.
type wkdServer struct {
	srv    *httptest.Server
	client *http.Client
	mu     sync.Mutex
	keys   map[string][]byte // "host path" -> binary key answer
	hits   atomic.Int32
}

func newWKDServer(t *testing.T) *wkdServer {
	t.Helper()
	w := &wkdServer{keys: map[string][]byte{}}
	w.srv = httptest.NewUnstartedServer(http.HandlerFunc(w.serve))
	cert, pool := selfSigned(t, "example.org", "openpgpkey.example.org")
	w.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	w.srv.StartTLS()
	t.Cleanup(w.srv.Close)
	addr := w.srv.Listener.Addr().String()
	w.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	return w
}

func (w *wkdServer) serve(rw http.ResponseWriter, r *http.Request) {
	w.hits.Add(1)
	host, _, _ := strings.Cut(r.Host, ":")
	w.mu.Lock()
	key, ok := w.keys[host+" "+r.URL.Path]
	w.mu.Unlock()
	if !ok || r.URL.Query().Get("l") == "" {
		http.NotFound(rw, r)
		return
	}
	rw.Header().Set("Content-Type", "application/octet-stream")
	_, _ = rw.Write(key)
}

// publish serves e's binary public key for addr by the given method.
func (w *wkdServer) publish(t *testing.T, addr string, advanced bool, key []byte) {
	u := WKDURLs(addr)[1]
	if advanced {
		u = WKDURLs(addr)[0]
	}
	u = strings.TrimPrefix(u, "https://")
	host, path, _ := strings.Cut(u, "/")
	path, _, _ = strings.Cut(path, "?")
	w.mu.Lock()
	w.keys[host+" /"+path] = key
	w.mu.Unlock()
}

func selfSigned(t *testing.T, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func binaryPublic(t *testing.T, e *openpgp.Entity) []byte {
	t.Helper()
	var b strings.Builder
	if err := e.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

func TestWKDAdvancedAndCache(t *testing.T) {
	w := newWKDServer(t)
	e := newEntity(t, "Joe.Doe@example.org", t0, 0)
	w.publish(t, "Joe.Doe@example.org", true, binaryPublic(t, e))
	now := t0
	c := NewWKDClient(WKDConfig{Client: w.client, Now: func() time.Time { return now }})
	got, err := c.Lookup(context.Background(), "Joe.Doe@EXAMPLE.org")
	if err != nil {
		t.Fatal(err)
	}
	if got.PrimaryKey.KeyId != e.PrimaryKey.KeyId {
		t.Error("wrong key returned")
	}
	if w.hits.Load() != 1 {
		t.Errorf("advanced lookup made %d requests, want 1", w.hits.Load())
	}
	if _, err := c.Lookup(context.Background(), "Joe.Doe@example.org"); err != nil || w.hits.Load() != 1 {
		t.Errorf("cached lookup: err %v, requests %d", err, w.hits.Load())
	}
	now = now.Add(2 * time.Hour)
	if _, err := c.Lookup(context.Background(), "Joe.Doe@example.org"); err != nil || w.hits.Load() != 2 {
		t.Errorf("lookup after expiry: err %v, requests %d (want a new request)", err, w.hits.Load())
	}
	if c.CacheLen() != 1 {
		t.Errorf("CacheLen = %d", c.CacheLen())
	}
}

func TestWKDFallsBackToDirect(t *testing.T) {
	w := newWKDServer(t)
	e := newEntity(t, "ann@example.org", t0, 0)
	w.publish(t, "ann@example.org", false, armoredPublic(t, e))
	c := NewWKDClient(WKDConfig{Client: w.client, Now: func() time.Time { return t0 }})
	got, err := c.Lookup(context.Background(), "ann@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if got.PrimaryKey.KeyId != e.PrimaryKey.KeyId || w.hits.Load() != 2 {
		t.Errorf("direct fallback: requests %d", w.hits.Load())
	}
}

func TestWKDRejectsUnusableAnswers(t *testing.T) {
	w := newWKDServer(t)
	w.publish(t, "wrong@example.org", true, binaryPublic(t, newEntity(t, "other@example.org", t0, 0)))
	w.publish(t, "old@example.org", true, binaryPublic(t, newEntity(t, "old@example.org", t0.Add(-48*time.Hour), 3600)))
	w.publish(t, "junk@example.org", true, []byte("<html>hello</html>"))
	now := t0
	c := NewWKDClient(WKDConfig{Client: w.client, Now: func() time.Time { return now }})
	for _, addr := range []string{"wrong@example.org", "old@example.org", "junk@example.org", "nobody@example.org"} {
		_, err := c.Lookup(context.Background(), addr)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(%s): err = %v, want ErrNotFound", addr, err)
		}
		if err != nil && strings.Contains(err.Error(), strings.Split(addr, "@")[0]) {
			t.Errorf("error names the local part: %v", err)
		}
	}
	hits := w.hits.Load()
	if _, err := c.Lookup(context.Background(), "nobody@example.org"); err == nil || w.hits.Load() != hits {
		t.Error("miss was not cached")
	}
	now = now.Add(16 * time.Minute)
	_, _ = c.Lookup(context.Background(), "nobody@example.org")
	if w.hits.Load() == hits {
		t.Error("miss cached beyond NegativeTTL")
	}
}

func TestWKDRequiresValidCertificate(t *testing.T) {
	w := newWKDServer(t)
	w.publish(t, "ann@example.org", true, binaryPublic(t, newEntity(t, "ann@example.org", t0, 0)))
	untrusting := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: w.client.Transport.(*http.Transport).DialContext,
	}}
	c := NewWKDClient(WKDConfig{Client: untrusting, Now: func() time.Time { return t0 }})
	_, err := c.Lookup(context.Background(), "ann@example.org")
	if err == nil {
		t.Fatal("key accepted from a server with an untrusted certificate")
	}
	if strings.Contains(err.Error(), "ann") {
		t.Errorf("error names the local part: %v", err)
	}
}

func TestWKDRefusesNonPublicDomains(t *testing.T) {
	w := newWKDServer(t)
	c := NewWKDClient(WKDConfig{Client: w.client})
	for _, a := range []string{"a@localhost", "a@[127.0.0.1]", "a@127.0.0.1", "a@intranet", "a@exa_mple.org", "a@bücher.example"} {
		if _, err := c.Lookup(context.Background(), a); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(%s): err = %v", a, err)
		}
	}
	if n := w.hits.Load(); n != 0 {
		t.Errorf("%d requests made for non-public domains", n)
	}
}

func TestWKDCacheIsBounded(t *testing.T) {
	w := newWKDServer(t)
	c := NewWKDClient(WKDConfig{Client: w.client, MaxEntries: 2, Now: func() time.Time { return t0 }})
	for _, a := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		_, _ = c.Lookup(context.Background(), a)
	}
	if n := c.CacheLen(); n != 2 {
		t.Errorf("CacheLen = %d, want 2", n)
	}
}
