package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/queue"
)

// recorder is a peer's spool as far as the channel sees it.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) Import(h queue.Handed) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, h.Env.ID)
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

func handed() queue.Handed {
	env := &mail.Envelope{ID: queue.NewID(), From: "lab@clinic.example.org", Received: time.Now(),
		Rcpts: []mail.Rcpt{{Addr: "dr@example.net"}}}
	return queue.Handed{Env: env, State: &mail.State{Version: 1, Rcpts: []mail.RcptState{{Addr: "dr@example.net", Status: mail.StatusPending}}},
		Body: []byte("Subject: x\r\n\r\nPatient PAT-7731\r\n")}
}

func listen(t *testing.T, a Auth, rec *recorder) string {
	t.Helper()
	s, err := Listen(Options{Addr: "127.0.0.1:0", Auth: a, Import: rec.Import})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr().String()
}

// send dials and hands one message; the error is the first that came.
func send(addr string, a Auth) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, a)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Send(ctx, handed())
}

func TestMutualTLSPeersAuthenticated(t *testing.T) {
	t.Parallel()
	ca, other := smtpsink.NewTestCA(t), smtpsink.NewTestCA(t)
	leaf := func(c *smtpsink.TestCA) *tls.Certificate { x := c.Leaf(t, "127.0.0.1"); return &x }
	rec := &recorder{}
	addr := listen(t, Auth{Cert: leaf(ca), CA: ca.Pool()}, rec)

	if err := send(addr, Auth{Cert: leaf(ca), CA: ca.Pool()}); err != nil {
		t.Fatalf("peer with the cluster's certificate: %v", err)
	}
	if rec.count() != 1 {
		t.Fatalf("%d messages taken, want 1", rec.count())
	}
	// A client certificate from another CA, and none at all, are refused
	// before any message is read.
	if err := send(addr, Auth{Cert: leaf(other), CA: ca.Pool()}); err == nil {
		t.Fatal("peer with a certificate from another CA was served")
	}
	if err := send(addr, Auth{Cert: leaf(ca), CA: other.Pool()}); err == nil {
		t.Fatal("client trusted a server outside its cluster CA")
	}
	if rec.count() != 1 {
		t.Fatalf("%d messages taken, want still 1", rec.count())
	}
}

func TestSharedSecretBoundToSession(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte("s"), 32)
	rec := &recorder{}
	addr := listen(t, Auth{Secret: secret}, rec)
	if err := send(addr, Auth{Secret: secret}); err != nil {
		t.Fatalf("peer with the secret: %v", err)
	}
	wrong := bytes.Repeat([]byte("w"), 32)
	err := send(addr, Auth{Secret: wrong})
	if !errors.Is(err, ErrPeerRefused) {
		t.Fatalf("peer with a wrong secret: %v, want refused", err)
	}
	// A server that does not know the secret is not sent anything.
	rec2 := &recorder{}
	addr2 := listen(t, Auth{Secret: wrong}, rec2)
	if err := send(addr2, Auth{Secret: secret}); err == nil {
		t.Fatal("client sent to a server that did not prove the secret")
	}
	if rec.count() != 1 || rec2.count() != 0 {
		t.Fatalf("messages taken: %d and %d, want 1 and 0", rec.count(), rec2.count())
	}
}

func TestNoAuthenticationNoChannel(t *testing.T) {
	t.Parallel()
	if _, err := Listen(Options{Addr: "127.0.0.1:0", Import: (&recorder{}).Import}); !errors.Is(err, ErrNoAuth) {
		t.Fatalf("Listen without authentication: %v", err)
	}
	if _, err := Dial(context.Background(), "127.0.0.1:1", Auth{}); !errors.Is(err, ErrNoAuth) {
		t.Fatalf("Dial without authentication: %v", err)
	}
}

// TestHelloBoundedBeforeAuthentication: a peer that has not proven the
// secret cannot make the server wait for, or make room for, a frame of
// up to MaxFrame bytes: a hello announced larger than a hello can be ends
// the connection at once.
func TestHelloBoundedBeforeAuthentication(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	addr := listen(t, Auth{Secret: bytes.Repeat([]byte("s"), 32)}, rec)
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], MaxFrame)
	if _, err := c.Write(n[:]); err != nil {
		t.Fatal(err)
	}
	// Bounded wait for the server to close (it would otherwise wait its
	// frame timeout of two minutes for the announced bytes).
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("the server kept the connection open for an oversized hello: %v", err)
	}
	if rec.count() != 0 {
		t.Fatal("a message was taken")
	}
}

// LoadAuth reads the cluster section's files and refuses what would
// leave a peer unauthenticated or weakly so.
func TestLoadAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := write("secret", "  "+strings.Repeat("k", 32)+"\n")
	a, err := LoadAuth("", "", "", secret)
	if err != nil || string(a.Secret) != strings.Repeat("k", 32) {
		t.Fatalf("secret file: %q, %v", a.Secret, err)
	}
	if _, err := LoadAuth("", "", "", write("short", "too short")); err == nil {
		t.Error("a secret under 32 bytes was accepted")
	}
	if _, err := LoadAuth("", "", "", ""); !errors.Is(err, ErrNoAuth) {
		t.Errorf("no files: %v, want ErrNoAuth", err)
	}
	ca := smtpsink.NewTestCA(t)
	caFile := write("ca.pem", string(ca.CertPEM()))
	if _, err := LoadAuth("", "", caFile, ""); err == nil {
		t.Error("a cluster CA without this node's certificate was accepted")
	}
	if _, err := LoadAuth("", "", write("empty.pem", "no PEM here"), secret); err == nil {
		t.Error("a CA file without certificates was accepted")
	}
}

// TestUnauthenticatedConnectionsBounded: connections that have not
// authenticated are limited; one past the limit is closed at once, and a
// real peer is served again once they are gone.
func TestUnauthenticatedConnectionsBounded(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte("s"), 32)
	rec := &recorder{}
	addr := listen(t, Auth{Secret: secret}, rec)
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range maxUnproven {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	// The listener accepts in order: once the last idle connection is
	// taken, the next one is over the limit.
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.Copy(io.Discard, extra); err != nil {
		t.Fatalf("a connection past the limit was kept open: %v", err)
	}
	for _, c := range idle {
		c.Close()
	}
	idle = nil
	if !testenv.Poll(30*time.Second, func() bool {
		err = send(addr, Auth{Secret: secret})
		return err == nil
	}) {
		t.Fatalf("a real peer not served after the idle connections closed: %v", err)
	}
	if rec.count() != 1 {
		t.Fatalf("%d messages taken, want 1", rec.count())
	}
}
