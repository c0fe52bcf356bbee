package store

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/internal/smtpsink"
)

// TestPostgresTLS connects to a real PostgreSQL that takes TCP clients over
// TLS only, as a database on another host is reached (the configuration
// demands sslmode=verify-full there). The store migrates and keeps a
// suppression over a verified TLS session; a server certificate from
// another CA and a connection without TLS are refused, not downgraded.
func TestPostgresTLS(t *testing.T) {
	ca := smtpsink.NewTestCA(t)
	leaf := ca.Leaf(t, "127.0.0.1", "localhost")
	keyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cluster := pgtest.StartTLSCluster(t,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	dir := t.TempDir()
	rightCA, otherCA := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "other-ca.pem")
	writeFile(t, rightCA, ca.CertPEM())
	writeFile(t, otherCA, smtpsink.NewTestCA(t).CertPEM())
	// tcpURL is a fresh database of the cluster, reached over TCP with query.
	tcpURL := func(t *testing.T, query string) string {
		u, err := url.Parse(pgtest.NewDB(t, cluster.URL))
		if err != nil {
			t.Fatal(err)
		}
		return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Host: cluster.TCP, Path: u.Path, RawQuery: query}).String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("verify-full", func(t *testing.T) {
		s, err := Open(ctx, Options{Backend: tcpURL(t, "sslmode=verify-full&sslrootcert="+url.QueryEscape(rightCA)), Master: testMaster(t)})
		if err != nil {
			t.Fatalf("open over TLS: %v", err)
		}
		defer s.Close(ctx)
		var ssl bool
		var version string
		if err := s.DB().QueryRow(ctx, `SELECT ssl, coalesce(version, '') FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl, &version); err != nil {
			t.Fatal(err)
		}
		if !ssl || !strings.HasPrefix(version, "TLSv1.") || version < "TLSv1.2" {
			t.Fatalf("session: ssl=%v version=%q, want TLS 1.2 or later", ssl, version)
		}
		e := Suppression{Domain: "clinic.example", Address: "patient@example.org", Reason: ReasonHardBounce}
		if err := s.Suppress(ctx, e); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Suppressed(ctx, e.Domain, e.Address); !ok || err != nil {
			t.Fatalf("suppressed after Suppress = %v, %v; want true", ok, err)
		}
	})

	t.Run("other CA refused", func(t *testing.T) {
		_, err := Open(ctx, Options{Backend: tcpURL(t, "sslmode=verify-full&sslrootcert="+url.QueryEscape(otherCA)), Master: testMaster(t)})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("open with another CA as root: err = %v; want an unknown-authority certificate error", err)
		}
	})

	t.Run("no TLS refused", func(t *testing.T) {
		_, err := Open(ctx, Options{Backend: tcpURL(t, "sslmode=disable"), Master: testMaster(t)})
		if err == nil || !strings.Contains(err.Error(), "no encryption") {
			t.Fatalf("open with sslmode=disable: err = %v; want the server's refusal of an unencrypted connection", err)
		}
	})
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
