package delivery

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/sealgate/sealgate/internal/smtpsink"
)

// stripper is an active attacker in front of an MX: it forwards the
// connection but removes STARTTLS from the server's EHLO reply.
func stripper(t *testing.T, listen, backend string) {
	t.Helper()
	ln := listenOrSkip(t, listen)
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { relayStripped(c, backend) })
		}
	})
}

func relayStripped(c net.Conn, backend string) {
	defer c.Close()
	b, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer b.Close()
	go func() { _, _ = io.Copy(b, c); _ = b.Close() }()
	buf := make([]byte, 4096)
	for {
		n, err := b.Read(buf)
		if n > 0 {
			out := bytes.ReplaceAll(buf[:n], []byte("STARTTLS"), []byte("XSTRIPPD"))
			if _, werr := c.Write(out); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// With STARTTLS stripped by an attacker, opportunistic TLS falls to
// plaintext, but an MTA-STS enforce policy (or a verify policy) keeps the
// message from being sent.
func TestSTARTTLSStripped(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"none", "testing", "enforce"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, false, false)
			host := "mx1.partner.test"
			ip := mxIP(t, 1)
			port := w.mxPort(ip)
			sink := smtpsink.Start(t, smtpsink.Options{Addr: net.JoinHostPort(mxIP(t, 2), port),
				TLS: smtpsink.ServerTLS(w.ca.Leaf(t, host))})
			stripper(t, net.JoinHostPort(ip, port), sink.Addr)
			w.dns.Add(t, "partner.test. 60 IN MX 10 "+host+".", host+". 60 IN A "+ip)
			cfg := Config{}
			if mode != "none" {
				cfg.MTASTS = w.stsPolicy(mode, host)
			}
			c := w.client(cfg)
			out := deliver(t, c, newDelivery("b@partner.test"))
			if mode == "enforce" {
				wantFail(t, out[0], false, "4.7.4")
				if sink.Count() != 0 {
					t.Error("sent in clear under an enforce policy")
				}
				return
			}
			wantOK(t, out)
			if m := sink.Messages(); len(m) != 1 || m[0].TLS {
				t.Errorf("want one plaintext message, got %+v", m)
			}
		})
	}
}
