// Package cluster is the channel between sealgate nodes over which a
// draining node hands its spool to a peer.
//
// The channel is TLS 1.3 and every peer is authenticated before a message
// moves, in one or both of two ways:
//
//   - mutual TLS: both sides present a certificate issued by the cluster's
//     own CA (cluster.tls.ca), and each verifies the other's against it;
//   - a shared secret (cluster.secret_file): after the handshake each side
//     proves it knows the secret with an HMAC-SHA256 over the TLS session's
//     exported keying material (RFC 8446 §7.5, RFC 9266 style channel
//     binding), so a proof cannot be replayed or relayed into another
//     session. The server's proof is checked before the client sends any
//     message; the client's before the server reads one.
//
// With neither configured there is no channel: the package refuses to
// build one (fail closed).
//
// # Protocol
//
// Frames are a 4-byte big-endian length and a JSON document. The client
// sends a hello {"v":1,"proof":hex}; the server answers {"v":1,"proof":hex}
// or {"error":…} and closes. Then, for each message, the client sends a
// queue.Handed (envelope, per-recipient state, message); the server writes
// it durably to its own spool (encrypted with its own spool key) and only then
// answers {"ok":true}. The sender removes a message from its spool only
// after that answer, so every acknowledged message is in the peer's spool
// before it leaves the sender's. A crash between the answer and the
// removal leaves it in both spools; the peer keeps one copy of a message
// it still holds, but one it already delivered is delivered again: a
// hand-off may duplicate, it never loses.
package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// protocolVersion is the hello's "v".
const protocolVersion = 1

// MaxFrame bounds one frame: a message with its envelope and state, JSON
// encoded (the body in base64).
const MaxFrame = 256 << 20

// maxHello bounds a hello frame. It is read before the peer is
// authenticated, so it is never allowed anywhere near MaxFrame.
const maxHello = 4 << 10

// exporterLabel is the TLS exporter label the secret's proofs are bound to.
const exporterLabel = "EXPORTER-sealgate-handoff"

// Auth is how peers prove who they are. At least one of TLS (with a CA)
// and Secret is required.
type Auth struct {
	// Cert is this node's certificate; for a server without a CA it may
	// be nil, and a certificate made for the process is used (the secret
	// then authenticates both sides).
	Cert *tls.Certificate
	// CA, when set, is the cluster CA: peers must present a certificate
	// issued by it.
	CA *x509.CertPool
	// Secret, when set, must be proven by both sides.
	Secret []byte
}

// ErrNoAuth is returned when neither a cluster CA nor a secret is
// configured: no unauthenticated channel is ever built.
var ErrNoAuth = errors.New("cluster: no peer authentication configured (a cluster CA or a shared secret)")

func (a Auth) check() error {
	if a.CA == nil && len(a.Secret) == 0 {
		return ErrNoAuth
	}
	if a.CA != nil && a.Cert == nil {
		return errors.New("cluster: mutual TLS needs this node's certificate and key")
	}
	return nil
}

// LoadAuth reads the files of a cluster section: certificate and key (PEM,
// both or neither), the cluster CA (PEM) and the shared secret (its
// surrounding white space is ignored; at least 32 bytes).
func LoadAuth(certFile, keyFile, caFile, secretFile string) (Auth, error) {
	var a Auth
	if certFile != "" || keyFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return a, fmt.Errorf("cluster.tls: %w", err)
		}
		a.Cert = &c
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return a, fmt.Errorf("cluster.tls.ca: %w", err)
		}
		a.CA = x509.NewCertPool()
		if !a.CA.AppendCertsFromPEM(pem) {
			return a, fmt.Errorf("cluster.tls.ca %s: no certificates", caFile)
		}
	}
	if secretFile != "" {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return a, fmt.Errorf("cluster.secret_file: %w", err)
		}
		a.Secret = []byte(strings.TrimSpace(string(b)))
		if len(a.Secret) < 32 {
			return a, fmt.Errorf("cluster.secret_file %s: shorter than 32 bytes", secretFile)
		}
	}
	return a, a.check()
}

// hello is the first frame each way.
type hello struct {
	V     int    `json:"v"`
	Proof string `json:"proof,omitempty"`
	Error string `json:"error,omitempty"`
}

// reply is the server's answer to one handed message.
type reply struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
}

// proof is the HMAC that proves the secret for one side of one session.
func proof(secret []byte, cs tls.ConnectionState, side string) (string, error) {
	if len(secret) == 0 {
		return "", nil
	}
	ekm, err := cs.ExportKeyingMaterial(exporterLabel, nil, 32)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(side))
	m.Write(ekm)
	return hex.EncodeToString(m.Sum(nil)), nil
}

// checkProof reports whether got proves the secret for side.
func checkProof(secret []byte, cs tls.ConnectionState, side, got string) bool {
	if len(secret) == 0 {
		return true
	}
	want, err := proof(secret, cs, side)
	return err == nil && hmac.Equal([]byte(want), []byte(got))
}

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > MaxFrame {
		return fmt.Errorf("cluster: frame of %d bytes over the limit", len(b))
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// errFrameTooBig is a peer's frame over MaxFrame.
var errFrameTooBig = errors.New("cluster: frame over the limit")

func readFrame(r io.Reader, v any) error { return readFrameMax(r, v, MaxFrame) }

// readFrameMax reads one frame of at most limit bytes.
func readFrameMax(r io.Reader, v any, limit uint32) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > limit {
		return errFrameTooBig
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
