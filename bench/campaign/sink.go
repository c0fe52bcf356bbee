package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
)

// verifier checks a DKIM signature against the configured public key,
// standing in for the DNS TXT record of selector._domainkey.
type verifier func(msg []byte) (signed, ok bool)

func newVerifier(pubFile, selector string) (verifier, error) {
	raw, err := os.ReadFile(pubFile)
	if err != nil {
		return nil, fmt.Errorf("DKIM public key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("DKIM public key: no PEM block")
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		return nil, fmt.Errorf("DKIM public key: %w", err)
	}
	record := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(block.Bytes)
	lookup := func(name string) ([]string, error) {
		if len(name) > len(selector) && name[:len(selector)+1] == selector+"." {
			return []string{record}, nil
		}
		return nil, fmt.Errorf("no TXT record for %s", name)
	}
	return func(msg []byte) (bool, bool) {
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) == 0 {
			return false, false
		}
		for _, v := range vs {
			if v.Err == nil {
				return true, true
			}
		}
		return true, false
	}, nil
}

// sink is the receiving MTA: it keeps counts and the arrival times of the
// transactional messages, not the messages.
type sink struct {
	srv    *smtp.Server
	verify verifier
	sample int

	mu    sync.Mutex
	st    sinkStats
	seenN int
}

// sinkStats is what the sink saw.
type sinkStats struct {
	received, plain, signed int
	verified, sampled       int
	last                    time.Time
	txn                     map[string]time.Time // "txn-N" → arrival
	phi, phiPlain           int                  // PHI notices received, of them without TLS
	phiTLS                  map[string]int       // PHI notices by TLS version
}

func startSink(addr string, cfg *tls.Config, verify verifier, sample int) (*sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &sink{verify: verify, sample: max(sample, 1), st: sinkStats{txn: map[string]time.Time{}, phiTLS: map[string]int{}}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{s: s, c: c}, nil
	}))
	s.srv.Domain = "sink.bench.invalid"
	s.srv.TLSConfig = cfg
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.MaxRecipients = 100
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) close() { _ = s.srv.Close() }

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.received
}

func (s *sink) stats() sinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.txn = make(map[string]time.Time, len(s.st.txn))
	for k, v := range s.st.txn {
		st.txn[k] = v
	}
	st.phiTLS = make(map[string]int, len(s.st.phiTLS))
	for k, v := range s.st.phiTLS {
		st.phiTLS[k] = v
	}
	return st
}

// record counts one message; a sample of them has its DKIM signature
// verified (outside the lock). tlsVersion is "" for a session without TLS.
func (s *sink) record(data []byte, tlsVersion string) {
	isTLS := tlsVersion != ""
	now := time.Now()
	id := benchID(data)
	s.mu.Lock()
	s.seenN++
	check := s.seenN%s.sample == 1 || s.sample == 1
	s.mu.Unlock()
	signed := bytes.Contains(data[:headerEnd(data)], []byte("\nDKIM-Signature:")) || bytes.HasPrefix(data, []byte("DKIM-Signature:"))
	verified := false
	if check {
		signed, verified = s.verify(data)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.received++
	s.st.last = now
	if !isTLS {
		s.st.plain++
	}
	if signed {
		s.st.signed++
	}
	if check {
		s.st.sampled++
		if verified {
			s.st.verified++
		}
	}
	switch {
	case strings.HasPrefix(id, "txn-"):
		s.st.txn[id] = now
	case strings.HasPrefix(id, "phi-"):
		s.st.phi++
		if isTLS {
			s.st.phiTLS[tlsVersion]++
		} else {
			s.st.phiPlain++
		}
	}
}

// headerEnd is the length of the header section.
func headerEnd(data []byte) int {
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		return i + 2
	}
	return len(data)
}

// benchID is the X-Bench-ID field's value ("txn-N" or "mkt-N").
func benchID(data []byte) string {
	h := data[:headerEnd(data)]
	i := bytes.Index(h, []byte("\nX-Bench-ID: "))
	if i < 0 {
		return ""
	}
	v := h[i+len("\nX-Bench-ID: "):]
	if j := bytes.IndexByte(v, '\r'); j >= 0 {
		v = v[:j]
	}
	return string(v)
}

type sinkSession struct {
	s *sink
	c *smtp.Conn
}

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Reset()                               {}
func (ss *sinkSession) Logout() error                        { return nil }

func (ss *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	version := ""
	if cs, ok := ss.c.TLSConnectionState(); ok {
		version = tls.VersionName(cs.Version)
	}
	ss.s.record(data, version)
	return nil
}
