package delivery

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"sync"
	"testing"

	"github.com/sealgate/sealgate/dane"
	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/tlsrpt"
)

// world is partner.test as the Internet would show it: a DNS server (its
// zone secure or not), MX hosts with SMTP sinks on their own loopback
// addresses, and a CA the client trusts. The MX hosts listen on one port
// chosen free for the world (the client is told, as Config.Port), so the
// tests need no root; TLSA records are published for that port.
type world struct {
	t    *testing.T
	dns  *dnstest.Server
	ca   *smtpsink.TestCA
	res  *dnsclient.Resolver
	rec  *recorder
	n    int
	port string // the MX hosts' SMTP port, chosen at the first mx
}

// newWorld serves partner.test; secure marks the zone signed, trustAD
// makes the client trust the AD bit.
func newWorld(t *testing.T, secure, trustAD bool) *world {
	t.Helper()
	w := &world{t: t, dns: dnstest.Start(t), ca: smtpsink.NewTestCA(t), rec: &recorder{}}
	w.dns.Secure("partner.test", secure)
	res, err := dnsclient.New(dnsclient.Config{Servers: []string{w.dns.Addr}, TrustAD: trustAD})
	if err != nil {
		t.Fatal(err)
	}
	w.res = res
	return w
}

// mxIP is the n-th loopback address of this test.
func mxIP(t *testing.T, n int) string { return dnstest.IPN(t, n) }

// mx publishes an MX host "mxN.partner.test" and runs a sink on its
// address, port 25, with opts (Addr is filled in).
func (w *world) mx(pref int, opts smtpsink.Options) (string, *smtpsink.Sink) {
	w.t.Helper()
	w.n++
	host := "mx" + itoa(w.n) + ".partner.test"
	ip := mxIP(w.t, w.n)
	opts.Addr = net.JoinHostPort(ip, w.mxPort(ip))
	_ = listenOrSkip(w.t, opts.Addr).Close()
	w.dns.Add(w.t, "partner.test. 60 IN MX "+itoa(pref)+" "+host+".", host+". 60 IN A "+ip)
	return host, smtpsink.Start(w.t, opts)
}

// mxPort is the world's MX port: the first call takes a free port on ip,
// later ones use the same port on their own addresses.
func (w *world) mxPort(ip string) string {
	w.t.Helper()
	if w.port == "" {
		ln := listenOrSkip(w.t, net.JoinHostPort(ip, "0"))
		_, w.port, _ = net.SplitHostPort(ln.Addr().String())
		_ = ln.Close()
	}
	return w.port
}

// listenOrSkip listens on addr (a free port of a loopback address),
// skipping the test outside CI when it cannot (testenv.Missing): a machine
// without the 127.0.0.0/8 addresses beyond 127.0.0.1.
func listenOrSkip(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		testenv.Missing(t, "cannot bind %s (%v)", addr, err)
	}
	return ln
}

// tlsa publishes a TLSA record for host's port 25.
func (w *world) tlsa(host string, usage, sel, mt int, data string) {
	w.t.Helper()
	w.dns.Add(w.t, "_"+w.mxPort(mxIP(w.t, 1))+"._tcp."+host+". 60 IN TLSA "+itoa(usage)+" "+itoa(sel)+" "+itoa(mt)+" "+data)
}

// client is a delivery client using the world's DNS and CA.
func (w *world) client(cfg Config) *Client {
	cfg.Resolver, cfg.RootCAs, cfg.TLSReports = w.res, w.ca.Pool(), w.rec
	if cfg.Port == "" && w.port != "" {
		cfg.Port = w.port
	}
	return newTestClient(w.t, cfg)
}

// chainWithCA is a leaf for names followed by the CA certificate, as a
// server using DANE-TA(2) must send it (RFC 7672 §3.1.2).
func (w *world) chainWithCA(names ...string) tls.Certificate {
	c := w.ca.Leaf(w.t, names...)
	c.Certificate = append(c.Certificate, w.caCert().Raw)
	return c
}

func (w *world) caCert() *x509.Certificate {
	b, _ := pem.Decode(w.ca.CertPEM())
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// leafOf parses a tls.Certificate's leaf.
func leafOf(t *testing.T, c tls.Certificate) *x509.Certificate {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// spki256 is the DANE-EE SPKI SHA-256 data for c.
func spki256(t *testing.T, c tls.Certificate) string {
	return dane.Record(leafOf(t, c), dane.SelectorSPKI, dane.MatchSHA256)
}

// recorder keeps TLS results.
type recorder struct {
	mu  sync.Mutex
	all []tlsrpt.Result
}

func (r *recorder) Record(res tlsrpt.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, res)
}

// has reports whether a result with policy type and result type was
// recorded.
func (r *recorder) has(policy, result string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.all {
		if x.PolicyType == policy && x.ResultType == result {
			return true
		}
	}
	return false
}
