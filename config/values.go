package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration as the configuration does ("90s", "2d",
// "1d12h"); the command line uses it for --since.
func ParseDuration(s string) (time.Duration, error) { return parseDuration(s) }

// parseDuration reads a Go duration, optionally preceded by whole days
// ("2d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("bad duration %q (want e.g. 90s, 5m, 2h, 2d)", s)
	var days time.Duration
	rest := strings.TrimSpace(s)
	if i := strings.IndexByte(rest, 'd'); i > 0 {
		n, err := strconv.ParseUint(rest[:i], 10, 16)
		if err != nil {
			return 0, bad
		}
		days, rest = time.Duration(n)*24*time.Hour, rest[i+1:]
		if rest == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, bad
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return days + d, nil
}

// sizeUnits maps lower-case unit suffixes to their multipliers.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1000, "mb": 1000 * 1000, "gb": 1000 * 1000 * 1000,
	"k": 1 << 10, "m": 1 << 20, "g": 1 << 30,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

// parseSize reads a byte count such as "25MB", "10KiB" or "4096".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(t)
	}
	mult, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if !ok || err != nil || i == 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 25MB, 10KiB or a number of bytes)", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// parsePrefix reads a CIDR prefix or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad network %q (want CIDR such as 10.0.0.0/8 or an address)", s)
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("bad network %q (want CIDR such as 10.0.0.0/8)", s)
	}
	if p.Masked() != p {
		return p, fmt.Errorf("network %q has host bits set (did you mean %s?)", s, p.Masked())
	}
	if p.Bits() == 0 {
		return p, fmt.Errorf("network %q would trust every address", s)
	}
	return p, nil
}

// normFingerprint normalises a SHA-256 certificate fingerprint to 64
// lower-case hex digits, accepting colons between byte pairs.
func normFingerprint(s string) (string, error) {
	f := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	if len(f) != 64 || strings.Trim(f, "0123456789abcdef") != "" {
		return "", errors.New("want the SHA-256 fingerprint as 64 hex digits")
	}
	return f, nil
}

// hostPort splits a host:port address and checks the port number.
func hostPort(addr string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("want host:port, got %q", addr)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	return h, n, nil
}
