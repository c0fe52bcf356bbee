// Package dnsclient is sealgate's own DNS stub resolver, built on
// github.com/miekg/dns and configured by delivery.dns: the servers to ask
// and whether their AD bit is trusted. Unlike net.Resolver it says whether
// an answer was DNSSEC-authentic, which DANE (RFC 7672) needs.
//
// The resolver does not validate signatures itself: it sets the DO and AD
// bits in each query (RFC 6840 §5.7) and reports the AD bit of the answer,
// but only when Config.TrustAD says the servers are validating resolvers
// reached over a trusted path (typically on loopback). Without TrustAD
// every answer is insecure.
package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Config configures a Resolver.
type Config struct {
	// Servers are "host:port" or bare addresses (port 53). Empty means the
	// nameservers of /etc/resolv.conf.
	Servers []string
	// TrustAD trusts the servers' AD bit (RFC 4035 §3.2.3, RFC 6698 §4.1).
	TrustAD bool
	// Timeout bounds one query to one server; default 5s.
	Timeout time.Duration
}

// Resolver answers queries from the configured servers, in order, moving
// to the next server on a network error or SERVFAIL. It is safe for
// concurrent use and holds no connections between queries.
type Resolver struct {
	servers []string
	trustAD bool
	timeout time.Duration
}

// Answer is the result of one query.
type Answer struct {
	// Records are the answer records of the queried type (CNAMEs that led
	// to them are left out).
	Records []dns.RR
	// Authentic is true when the server set AD and AD is trusted: the
	// answer, or the denial of existence, was DNSSEC-validated.
	Authentic bool
	// Rcode is the response code (dns.RcodeSuccess, dns.RcodeNameError …).
	Rcode int
}

// ErrServFail is wrapped by errors for answers that were neither an
// answer nor a denial: SERVFAIL, REFUSED and the like. A validating
// resolver answers SERVFAIL for bogus (RFC 4035 §5.5) data.
var ErrServFail = errors.New("dnsclient: server failure")

// New checks cfg and makes a Resolver.
func New(cfg Config) (*Resolver, error) {
	r := &Resolver{trustAD: cfg.TrustAD, timeout: cfg.Timeout}
	if r.timeout <= 0 {
		r.timeout = 5 * time.Second
	}
	servers := cfg.Servers
	if len(servers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("dnsclient: no servers configured and %w", err)
		}
		servers = cc.Servers
	}
	for _, s := range servers {
		addr, err := serverAddr(s)
		if err != nil {
			return nil, err
		}
		r.servers = append(r.servers, addr)
	}
	if len(r.servers) == 0 {
		return nil, errors.New("dnsclient: no servers")
	}
	return r, nil
}

// serverAddr adds port 53 to a bare address.
func serverAddr(s string) (string, error) {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s, nil
	}
	h := strings.Trim(s, "[]")
	if net.ParseIP(h) == nil {
		return "", fmt.Errorf("dnsclient: server %q is not host:port or an IP address", s)
	}
	return net.JoinHostPort(h, "53"), nil
}

// TrustAD reports whether answers can ever be authentic.
func (r *Resolver) TrustAD() bool { return r.trustAD }

// Query asks for name and qtype. A name that does not exist (NXDOMAIN) or
// has no records of qtype (NODATA) returns the Answer together with a
// *net.DNSError whose IsNotFound is set; Answer.Authentic then says whether
// the denial was authenticated.
func (r *Resolver) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.AuthenticatedData = true // RFC 6840 §5.7
	m.SetEdns0(1232, true)
	var last error
	for _, srv := range r.servers {
		in, err := r.exchange(ctx, m, srv)
		if err != nil {
			last = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		ans, err := r.answer(in, name, qtype)
		if errors.Is(err, ErrServFail) {
			last = err
			continue
		}
		return ans, err
	}
	return nil, &net.DNSError{Err: fmt.Sprintf("lookup failed: %v", last), Name: name, IsTemporary: true, UnwrapErr: last}
}

// exchange sends m to srv over UDP and retries over TCP when the answer
// was truncated (RFC 7766 §5).
func (r *Resolver) exchange(ctx context.Context, m *dns.Msg, srv string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	c := &dns.Client{Net: "udp", Timeout: r.timeout, UDPSize: 1232}
	in, _, err := c.ExchangeContext(ctx, m, srv)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, srv)
	}
	if err != nil {
		return nil, fmt.Errorf("dnsclient: query %s: %w", srv, err)
	}
	if in.Id != m.Id {
		return nil, errors.New("dnsclient: answer id mismatch")
	}
	return in, nil
}

// answer turns a reply into an Answer and an error.
func (r *Resolver) answer(in *dns.Msg, name string, qtype uint16) (*Answer, error) {
	ans := &Answer{Rcode: in.Rcode, Authentic: r.trustAD && in.AuthenticatedData}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return ans, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	default:
		return nil, fmt.Errorf("%w: %s", ErrServFail, dns.RcodeToString[in.Rcode])
	}
	owners := chain(in.Answer, dns.Fqdn(name))
	for _, rr := range in.Answer {
		h := rr.Header()
		if h.Rrtype == qtype && h.Class == dns.ClassINET && owners[strings.ToLower(h.Name)] {
			ans.Records = append(ans.Records, rr)
		}
	}
	if len(ans.Records) == 0 {
		return ans, &net.DNSError{Err: "no records of the requested type", Name: name, IsNotFound: true}
	}
	return ans, nil
}

// maxCNAMEs bounds the CNAME chain followed inside one answer.
const maxCNAMEs = 8

// chain returns the owner names an answer's records may have: the name
// asked for and the CNAME targets that lead on from it (RFC 1034 §3.6.2),
// lower-cased. Records for any other name are not part of the answer and
// are ignored.
func chain(answer []dns.RR, name string) map[string]bool {
	owners := map[string]bool{strings.ToLower(name): true}
	cur := strings.ToLower(name)
	for range maxCNAMEs {
		next := ""
		for _, rr := range answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, cur) && c.Hdr.Class == dns.ClassINET {
				next = strings.ToLower(dns.Fqdn(c.Target))
				break
			}
		}
		if next == "" || owners[next] {
			break
		}
		owners[next], cur = true, next
	}
	return owners
}
