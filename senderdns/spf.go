package senderdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// SPF results (RFC 7208 §2.6).
const (
	SPFPass      = "pass"
	SPFFail      = "fail"
	SPFSoftFail  = "softfail"
	SPFNeutral   = "neutral"
	SPFNone      = "none"
	SPFPermError = "permerror"
	SPFTempError = "temperror"
)

// RFC 7208 §4.6.4: at most 10 terms that cause DNS lookups, at most two
// lookups that find nothing, at most 10 MX names per mx mechanism.
const (
	maxSPFLookups = 10
	maxVoid       = 2
	maxMXNames    = 10
)

// spfEval evaluates check_host() for one address, counting lookups over the
// whole evaluation, includes and redirects together.
type spfEval struct {
	r       Resolver
	ip      netip.Addr
	lookups int
	voids   int
	depth   int
}

// spfError is an evaluation that ended early, with its result and why.
type spfError struct {
	result string
	why    string
}

func (e *spfError) Error() string { return e.result + ": " + e.why }

func permerr(format string, a ...any) error {
	return &spfError{SPFPermError, fmt.Sprintf(format, a...)}
}

// spfRecord returns domain's one SPF record, "" when there is none.
func spfRecord(ctx context.Context, r Resolver, domain string) (string, error) {
	txts, err := r.LookupTXT(ctx, domain)
	if err != nil && !notFound(err) {
		return "", &spfError{SPFTempError, "TXT lookup for " + domain + " failed"}
	}
	var recs []string
	for _, t := range txts {
		if l := strings.ToLower(t); l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return "", nil
	case 1:
		return recs[0], nil
	default:
		return "", permerr("%s publishes %d SPF records; RFC 7208 §4.5 allows one", domain, len(recs))
	}
}

// checkHost is RFC 7208 §4's check_host(ip, domain); the result, and for
// an error result the reason.
func (e *spfEval) checkHost(ctx context.Context, domain string) (string, error) {
	if e.depth > maxSPFLookups {
		return SPFPermError, permerr("include/redirect loop at %s", domain)
	}
	rec, err := spfRecord(ctx, e.r, domain)
	if err != nil {
		var se *spfError
		errors.As(err, &se)
		return se.result, err
	}
	if rec == "" {
		return SPFNone, nil
	}
	terms := strings.Fields(rec)[1:]
	redirect := ""
	for _, term := range terms {
		name, value, isMod := strings.Cut(term, "=")
		if isMod && !strings.ContainsAny(name, ":/") {
			if strings.EqualFold(name, "redirect") {
				redirect = value
			}
			continue // exp= and unknown modifiers do not change the result
		}
		qual, mech := qualifier(term)
		match, err := e.mechanism(ctx, domain, mech)
		if err != nil {
			var se *spfError
			errors.As(err, &se)
			return se.result, err
		}
		if match {
			return qual, nil
		}
	}
	if redirect != "" {
		return e.follow(ctx, "redirect", redirect, true)
	}
	return SPFNeutral, nil
}

// qualifier splits the qualifier off a mechanism; "+" is the default.
func qualifier(term string) (string, string) {
	q := map[byte]string{'+': SPFPass, '-': SPFFail, '~': SPFSoftFail, '?': SPFNeutral}
	if r, ok := q[term[0]]; ok {
		return r, term[1:]
	}
	return SPFPass, term
}

// mechanism reports whether one mechanism matches e.ip.
func (e *spfEval) mechanism(ctx context.Context, domain, mech string) (bool, error) {
	name, arg, _ := strings.Cut(mech, ":")
	if i := strings.IndexByte(name, '/'); i >= 0 { // "a/24", "mx/24//64"
		name, arg = name[:i], mech[i:]
	}
	switch strings.ToLower(name) {
	case "all":
		return true, nil
	case "ip4", "ip6":
		return ipMatch(e.ip, arg)
	case "include":
		r, err := e.follow(ctx, "include", arg, false)
		if err != nil {
			return false, err
		}
		return r == SPFPass, nil
	case "a":
		target, v4, v6, err := domainCIDR(domain, arg)
		if err != nil {
			return false, err
		}
		if err := e.count(); err != nil {
			return false, err
		}
		return e.hostMatch(ctx, target, v4, v6)
	case "mx":
		return e.mx(ctx, domain, arg)
	case "exists":
		if err := e.count(); err != nil {
			return false, err
		}
		return e.exists(ctx, arg)
	case "ptr":
		// RFC 7208 §5.5: "do not use"; counted, never matched here.
		return false, e.count()
	default:
		return false, permerr("unknown mechanism %q", mech)
	}
}

// count charges one DNS-querying term against the limit.
func (e *spfEval) count() error {
	e.lookups++
	if e.lookups > maxSPFLookups {
		return permerr("more than %d DNS-querying terms (RFC 7208 §4.6.4)", maxSPFLookups)
	}
	return nil
}

// void counts a lookup that found nothing.
func (e *spfEval) void() error {
	e.voids++
	if e.voids > maxVoid {
		return permerr("more than %d lookups found nothing (RFC 7208 §4.6.4)", maxVoid)
	}
	return nil
}

// follow evaluates an include or a redirect target.
func (e *spfEval) follow(ctx context.Context, kind, target string, redirect bool) (string, error) {
	if strings.Contains(target, "%") {
		return SPFPermError, permerr("%s:%s uses macros, which this check does not expand", kind, target)
	}
	if target == "" {
		return SPFPermError, permerr("%s without a domain", kind)
	}
	if err := e.count(); err != nil {
		return SPFPermError, err
	}
	e.depth++
	r, err := e.checkHost(ctx, target)
	e.depth--
	switch {
	case redirect && r == SPFNone:
		return SPFPermError, permerr("redirect=%s has no SPF record", target)
	case redirect:
		return r, err
	case r == SPFTempError:
		return r, err
	case r == SPFPermError || r == SPFNone:
		if err == nil {
			err = permerr("include:%s has no SPF record", target)
		}
		return SPFPermError, err
	}
	return r, nil
}

// domainCIDR reads "[:domain][/v4][//v6]" of a and mx.
func domainCIDR(domain, arg string) (string, int, int, error) {
	target := domain
	v4, v6 := 32, 128
	spec, cidr, _ := strings.Cut(arg, "/")
	if spec != "" {
		target = spec
	}
	if strings.Contains(target, "%") {
		return "", 0, 0, permerr("%s uses macros, which this check does not expand", target)
	}
	if cidr != "" || strings.HasPrefix(arg, "/") {
		c4, c6, dual := strings.Cut(cidr, "//")
		if strings.HasPrefix(cidr, "/") {
			c4, c6, dual = "", cidr[1:], true
		}
		var err error
		if c4 != "" {
			if v4, err = strconv.Atoi(c4); err != nil || v4 < 0 || v4 > 32 {
				return "", 0, 0, permerr("bad IPv4 prefix length in %q", arg)
			}
		}
		if dual && c6 != "" {
			if v6, err = strconv.Atoi(c6); err != nil || v6 < 0 || v6 > 128 {
				return "", 0, 0, permerr("bad IPv6 prefix length in %q", arg)
			}
		}
	}
	return target, v4, v6, nil
}

// ipMatch matches ip4:/ip6: arguments.
func ipMatch(ip netip.Addr, arg string) (bool, error) {
	var p netip.Prefix
	var err error
	if strings.Contains(arg, "/") {
		p, err = netip.ParsePrefix(arg)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(arg); err == nil {
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil {
		return false, permerr("bad address %q", arg)
	}
	return p.Masked().Contains(ip.Unmap()), nil
}

// hostMatch looks up target's addresses and matches them with the prefix
// lengths.
func (e *spfEval) hostMatch(ctx context.Context, target string, v4, v6 int) (bool, error) {
	addrs, err := e.r.LookupHost(ctx, target)
	if err != nil && !notFound(err) {
		return false, &spfError{SPFTempError, "address lookup for " + target + " failed"}
	}
	if len(addrs) == 0 {
		return false, e.void()
	}
	for _, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		bits := v6
		if a.Is4() {
			bits = v4
		}
		if p, err := a.Prefix(bits); err == nil && p.Contains(e.ip.Unmap()) {
			return true, nil
		}
	}
	return false, nil
}

// mx matches the addresses of domain's MX hosts.
func (e *spfEval) mx(ctx context.Context, domain, arg string) (bool, error) {
	target, v4, v6, err := domainCIDR(domain, arg)
	if err != nil {
		return false, err
	}
	if err := e.count(); err != nil {
		return false, err
	}
	mxs, err := e.r.LookupMX(ctx, target)
	if err != nil && !notFound(err) {
		return false, &spfError{SPFTempError, "MX lookup for " + target + " failed"}
	}
	if len(mxs) == 0 {
		return false, e.void()
	}
	if len(mxs) > maxMXNames {
		return false, permerr("mx:%s has more than %d MX names", target, maxMXNames)
	}
	for _, mx := range mxs {
		if ok, err := e.hostMatch(ctx, strings.TrimSuffix(mx.Host, "."), v4, v6); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// exists matches when target has an A record.
func (e *spfEval) exists(ctx context.Context, target string) (bool, error) {
	if strings.Contains(target, "%") {
		return false, permerr("exists:%s uses macros, which this check does not expand", target)
	}
	ans, err := e.r.Query(ctx, target, dns.TypeA)
	if err != nil && !notFound(err) {
		return false, &spfError{SPFTempError, "A lookup for " + target + " failed"}
	}
	if ans == nil || len(ans.Records) == 0 {
		return false, e.void()
	}
	return true, nil
}

func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
