package delivery

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
)

// hop is one next-hop candidate.
type hop struct {
	host        string   // name for TLS verification and Outcome.RemoteMTA
	port        string   // TCP port
	ips         []string // addresses already resolved, if any
	auth        bool     // smarthost credentials apply
	implicitTLS bool     // TLS from the first byte (port 465 style)
	mx          bool     // taken from the domain's MX records (or their A/AAAA fallback)
	tls         hopTLS   // what the transport to this hop must satisfy
}

func (h hop) addr() string { return net.JoinHostPort(h.host, h.port) }

// parseHop reads a "host:port" route or smarthost.
func parseHop(hostport string) (hop, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hop{}, err
	}
	if host == "" || port == "" {
		return hop{}, errors.New("host and port are required")
	}
	return hop{host: strings.TrimSuffix(host, "."), port: port}, nil
}

// hops chooses the next hops for domain, in the order to try them: a
// per-domain route wins (as Postfix's transport maps win over relayhost),
// then the smarthost, then MX records.
func (c *Client) hops(ctx context.Context, domain string) ([]hop, *Error) {
	if h, ok := c.routes[strings.ToLower(domain)]; ok {
		return []hop{h}, nil
	}
	if c.smarthost != nil {
		return []hop{*c.smarthost}, nil
	}
	return c.mxHops(ctx, domain)
}

// mxHops looks up the MX records of domain (RFC 5321 §5.1): sorted by
// preference and shuffled within one preference; a null MX (RFC 7505)
// refuses mail; no MX at all falls back to the domain's own addresses.
func (c *Client) mxHops(ctx context.Context, domain string) ([]hop, *Error) {
	mxs, secure, err := c.lookupMX(ctx, domain)
	if err != nil && len(mxs) == 0 && !isNotFound(err) {
		return nil, dnsError(err, "")
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, localError(true, "5.1.10", CmdDNS, "", "domain does not accept mail (null MX)", nil)
	}
	hops := make([]hop, 0, len(mxs))
	for _, mx := range orderMX(mxs) {
		hops = append(hops, hop{host: mx, port: c.cfg.Port, mx: true, tls: hopTLS{mxSecure: secure}})
	}
	if len(hops) > 0 {
		return hops, nil
	}
	ips, err := c.res.LookupHost(ctx, domain)
	if err != nil {
		return nil, dnsError(err, "")
	}
	if len(ips) == 0 {
		return nil, localError(true, "5.4.4", CmdDNS, "", "domain has no MX and no address", nil)
	}
	// RFC 7672 §2.2.1: without MX records the domain itself is the host;
	// its address records are checked for DANE like an MX host's.
	return []hop{{host: strings.TrimSuffix(domain, "."), port: c.cfg.Port, ips: ips, mx: true,
		tls: hopTLS{mxSecure: secure}}}, nil
}

// lookupMX looks up MX records, with their DNSSEC status when the resolver
// can tell.
func (c *Client) lookupMX(ctx context.Context, domain string) ([]*net.MX, bool, error) {
	if c.sres != nil {
		return c.sres.LookupMXSecure(ctx, domain)
	}
	mxs, err := c.res.LookupMX(ctx, domain)
	return mxs, false, err
}

// orderMX returns the MX host names by preference, random within equal
// preference, without empty or "." entries.
func orderMX(mxs []*net.MX) []string {
	mxs = append([]*net.MX(nil), mxs...)
	rand.Shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	hosts := make([]string, 0, len(mxs))
	for _, mx := range mxs {
		if h := strings.TrimSuffix(mx.Host, "."); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// dialHop connects to the first reachable address of h.
func (c *Client) dialHop(ctx context.Context, h hop) (net.Conn, *Error) {
	ips := h.ips
	if ips == nil {
		if net.ParseIP(h.host) != nil {
			ips = []string{h.host}
		} else {
			var err error
			if ips, err = c.res.LookupHost(ctx, h.host); err != nil {
				e := dnsError(err, h.host)
				e.Permanent = false // a broken MX host is the receiver's to fix
				return nil, e
			}
		}
	}
	d := net.Dialer{Timeout: c.cfg.ConnectTimeout}
	var last error = errors.New("no addresses")
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, h.port))
		if err == nil {
			return conn, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, localError(false, "4.4.1", CmdConnect, h.host, "could not connect", last)
}
