// Package dnstest is a loopback DNS server for tests, on
// github.com/miekg/dns. Records are added as zone-file lines; zones can be
// marked secure (answers carry the AD bit, as a validating resolver's
// would) or insecure, and names can be made to fail with SERVFAIL, as a
// validating resolver answers bogus data.
package dnstest

import (
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a running test DNS server.
type Server struct {
	// Addr is the UDP address the server listens on, for dnsclient.Config.
	Addr string

	mu      sync.Mutex
	records map[key][]dns.RR
	names   map[string]bool
	secure  map[string]bool // zone → AD on answers
	fail    map[string]bool // name → SERVFAIL
	failOf  map[key]bool    // name and type → SERVFAIL
	queries int
}

type key struct {
	name  string
	qtype uint16
}

// Start runs a server on 127.0.0.1 (a random port, UDP and TCP) until the
// test ends. UDP answers larger than the client's EDNS0 buffer are
// truncated, so clients must retry over TCP as real servers make them.
func Start(t testing.TB) *Server {
	t.Helper()
	pc, ln, err := listenPair()
	if err != nil {
		t.Fatalf("dnstest: listen: %v", err)
	}
	s := &Server{Addr: pc.LocalAddr().String(), records: map[key][]dns.RR{},
		names: map[string]bool{}, secure: map[string]bool{}, fail: map[string]bool{}}
	serve(t, &dns.Server{PacketConn: pc, Handler: s})
	serve(t, &dns.Server{Listener: ln, Handler: s})
	return s
}

// StartOn runs a server on ip port 53 (UDP and TCP) until the test ends,
// for programs that can only be pointed at a resolver through a
// resolv.conf line (which has no port). Binding port 53 needs root or
// CAP_NET_BIND_SERVICE.
func StartOn(t testing.TB, ip string) *Server {
	t.Helper()
	addr := net.JoinHostPort(ip, "53")
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("dnstest: listen: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = pc.Close()
		t.Fatalf("dnstest: listen: %v", err)
	}
	s := &Server{Addr: addr, records: map[key][]dns.RR{},
		names: map[string]bool{}, secure: map[string]bool{}, fail: map[string]bool{}}
	serve(t, &dns.Server{PacketConn: pc, Handler: s})
	serve(t, &dns.Server{Listener: ln, Handler: s})
	return s
}

// listenPair binds UDP and TCP on one free loopback port. The TCP port of a
// random free UDP port may be taken by another test or process, so a few
// ports are tried.
func listenPair() (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		_ = pc.Close()
		lastErr = err
	}
	return nil, nil, lastErr
}

// serve runs srv until the test ends.
func serve(t testing.TB, srv *dns.Server) {
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ActivateAndServe()
	}()
	<-started
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
}

// Add adds records in zone-file syntax ("mx.example. 300 IN A 127.0.0.2");
// it fails the test on a syntax error.
func (s *Server) Add(t testing.TB, lines ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil || rr == nil {
			t.Fatalf("dnstest: record %q: %v", l, err)
		}
		h := rr.Header()
		k := key{strings.ToLower(h.Name), h.Rrtype}
		s.records[k] = append(s.records[k], rr)
		s.names[k.name] = true
	}
}

// Set replaces the records of each line's name and type with the lines
// given for them.
func (s *Server) Set(t testing.TB, lines ...string) {
	t.Helper()
	s.mu.Lock()
	for _, l := range lines {
		if rr, err := dns.NewRR(l); err == nil && rr != nil {
			delete(s.records, key{strings.ToLower(rr.Header().Name), rr.Header().Rrtype})
		}
	}
	s.mu.Unlock()
	s.Add(t, lines...)
}

// Secure marks zone (and the names below it) as DNSSEC-signed and
// validated (true) or not (false). The most specific zone wins.
func (s *Server) Secure(zone string, secure bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secure[strings.ToLower(dns.Fqdn(zone))] = secure
}

// Fail makes every query for name answer SERVFAIL.
func (s *Server) Fail(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[strings.ToLower(dns.Fqdn(name))] = true
}

// FailType makes queries for name of type qtype (dns.TypeAAAA, …) answer
// SERVFAIL, as a broken server for one record type does.
func (s *Server) FailType(name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failOf == nil {
		s.failOf = make(map[key]bool)
	}
	s.failOf[key{strings.ToLower(dns.Fqdn(name)), qtype}] = true
}

// Queries is the number of queries answered so far.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if len(req.Question) == 1 {
		s.answer(m, req.Question[0])
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size) // RFC 7766 §5: the client retries over TCP
	}
	_ = w.WriteMsg(m)
}

func (s *Server) answer(m *dns.Msg, q dns.Question) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries++
	name := strings.ToLower(q.Name)
	if s.fail[name] || s.failOf[key{name, q.Qtype}] {
		m.Rcode = dns.RcodeServerFailure
		return
	}
	m.Answer = append(m.Answer, s.records[key{name, q.Qtype}]...)
	if len(m.Answer) == 0 && !s.names[name] {
		m.Rcode = dns.RcodeNameError
	}
	m.AuthenticatedData = s.isSecure(name)
}

// isSecure finds the most specific zone for name; s.mu is held.
func (s *Server) isSecure(name string) bool {
	for n := name; ; {
		if sec, ok := s.secure[n]; ok {
			return sec
		}
		i := strings.IndexByte(n, '.')
		if i < 0 || i == len(n)-1 {
			return s.secure["."]
		}
		n = n[i+1:]
	}
}

// IP is a loopback address derived from the test's name, in
// 127.64.0.1 … 127.127.255.254, so parallel tests (and other packages'
// tests) can each bind their own :25 and :443.
func IP(t testing.TB) string { return IPN(t, 0) }

// IPN is the test's n-th address, for tests that need several.
func IPN(t testing.TB, n int) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(t.Name() + "#" + strconv.Itoa(n)))
	v := h.Sum32()
	b, c, d := 64+byte(v>>16)%64, byte(v>>8), byte(v)%254+1
	return net.IPv4(127, b, c, d).String()
}
