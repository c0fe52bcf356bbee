package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/sealgate/sealgate/queue"
)

// Conn is an authenticated hand-off connection to one peer.
type Conn struct {
	c *tls.Conn
}

// Dial connects to a peer's hand-off listener and authenticates both
// sides: with a cluster CA the peer's certificate must be issued by it and
// name addr's host; with a secret the peer must prove it. Nothing is sent
// to a peer that has not been authenticated.
func Dial(ctx context.Context, addr string, a Auth) (*Conn, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: peer %q: %w", addr, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, ServerName: host}
	if a.Cert != nil {
		cfg.Certificates = []tls.Certificate{*a.Cert}
	}
	if a.CA != nil {
		cfg.RootCAs = a.CA
	} else {
		// Secret only: the peer's certificate is not checked here; the
		// peer proves the secret over this very session below, before
		// anything is sent.
		cfg.InsecureSkipVerify = true
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 30 * time.Second}, Config: cfg}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: peer %s: %w", addr, err)
	}
	c := &Conn{c: nc.(*tls.Conn)}
	if err := c.hello(a.Secret); err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: peer %s: %w", addr, err)
	}
	return c, nil
}

// ErrPeerRefused is a peer's refusal of the hello or of a message.
var ErrPeerRefused = errors.New("refused by the peer")

func (c *Conn) hello(secret []byte) error {
	c.c.SetDeadline(time.Now().Add(frameTimeout))
	cs := c.c.ConnectionState()
	p, err := proof(secret, cs, "client")
	if err != nil {
		return err
	}
	if err := writeFrame(c.c, hello{V: protocolVersion, Proof: p}); err != nil {
		return err
	}
	var h hello
	if err := readFrameMax(c.c, &h, maxHello); err != nil {
		return fmt.Errorf("no hello from the peer: %w", err)
	}
	if h.Error != "" {
		return fmt.Errorf("%w: %s", ErrPeerRefused, h.Error)
	}
	if h.V != protocolVersion || !checkProof(secret, cs, "server", h.Proof) {
		return errors.New("the peer did not prove the shared secret")
	}
	return nil
}

// Send hands one message to the peer and returns nil only once the peer
// has written it durably to its spool.
func (c *Conn) Send(ctx context.Context, h queue.Handed) error {
	dl := time.Now().Add(frameTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	c.c.SetDeadline(dl)
	if err := writeFrame(c.c, h); err != nil {
		return err
	}
	var r reply
	if err := readFrame(c.c, &r); err != nil {
		return fmt.Errorf("no acknowledgement from the peer: %w", err)
	}
	if !r.OK {
		return fmt.Errorf("%w: %s", ErrPeerRefused, r.Error)
	}
	return nil
}

// Close ends the connection.
func (c *Conn) Close() error { return c.c.Close() }
