package config

import (
	"fmt"
	"net/netip"
)

// endpoint is a parsed listen address.
type endpoint struct {
	path string
	addr string
	ip   netip.Addr // invalid for "all addresses"
	port int
}

// isLoopback reports whether host is a loopback IP or "localhost".
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// parseListen parses a listen address: host must be an IP, "localhost" or
// empty (all addresses).
func parseListen(addr string) (endpoint, error) {
	host, port, err := hostPort(addr)
	if err != nil {
		return endpoint{}, err
	}
	e := endpoint{addr: addr, port: port}
	switch host {
	case "", "::":
	case "localhost":
		e.ip = netip.MustParseAddr("127.0.0.1")
	default:
		if e.ip, err = netip.ParseAddr(host); err != nil {
			return e, fmt.Errorf("host %q must be an IP address, localhost or empty", host)
		}
		e.ip = e.ip.Unmap()
	}
	return e, nil
}

// address checks a listen address and reports whether it is loopback-only.
func (v *validator) address(path, addr string) (loopback, ok bool) {
	if addr == "" {
		v.addf(path, "must be set")
		return false, false
	}
	e, err := parseListen(addr)
	if err != nil {
		v.addf(path, "%v", err)
		return false, false
	}
	return e.ip.IsValid() && e.ip.IsLoopback(), true
}

// overlaps reports whether two endpoints would compete for one socket.
// Port 0 (chosen by the system) never overlaps.
func (e endpoint) overlaps(o endpoint) bool {
	if e.port != o.port || e.port == 0 {
		return false
	}
	if !e.ip.IsValid() || !o.ip.IsValid() || e.ip == o.ip {
		return true
	}
	unspec4 := func(ip netip.Addr) bool { return ip == netip.IPv4Unspecified() }
	return unspec4(e.ip) && o.ip.Is4() || unspec4(o.ip) && e.ip.Is4() ||
		e.ip == netip.IPv6Unspecified() || o.ip == netip.IPv6Unspecified()
}

// addressOverlaps refuses two listening sockets (SMTP, metrics, portal) on
// the same address and port, including a wildcard and a specific address.
func (v *validator) addressOverlaps() {
	var all []endpoint
	add := func(path, addr string) {
		if e, err := parseListen(addr); err == nil && addr != "" {
			e.path = path
			all = append(all, e)
		}
	}
	for i, l := range v.c.Listeners {
		add(fmt.Sprintf("listeners[%d].address", i), l.Address)
	}
	add("metrics.listen", v.c.Metrics.Listen)
	add("portal.listen", v.c.Portal.Listen)
	add("api.listen", v.c.API.Listen)
	if v.c.Bounces.Enabled() {
		add("bounces.listen", v.c.Bounces.Listen)
	}
	add("cluster.listen", v.c.Cluster.Listen)
	for i, e := range all {
		for _, prev := range all[:i] {
			if e.overlaps(prev) {
				v.addf(e.path, "%s overlaps %s (%s)", e.addr, prev.path, prev.addr)
				break
			}
		}
	}
}
