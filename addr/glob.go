package addr

import "strings"

// CheckGlob validates an allowed-senders pattern, for configuration
// checks. The forms are:
//
//   - any address
//     *@example.org        any local part at exactly example.org
//     user@example.org     exactly this address
//     *@*.example.org      any local part at any subdomain of example.org
//     (not example.org itself)
//     user@*.example.org   this local part at any subdomain
//
// No other wildcards are allowed; the domain must pass ParseDomain with
// SMTPUTF8, and a literal local part must be a dot-string without %, ! or *.
func CheckGlob(pattern string) error {
	_, err := parseGlob(pattern)
	return err
}

// MatchGlob reports whether a matches an allowed-senders pattern (see
// CheckGlob for the forms). Domains are compared case-insensitively in
// A-label form, so a U-label pattern matches the same domain written in
// punycode. Local parts are compared case-insensitively (Unicode simple
// case folding): RFC 5321 lets a server treat case as significant, but no
// mail system sealgate fronts does, and a sender rule that "User@" slips
// past would be a bypass the other way round. A malformed pattern matches
// nothing.
func MatchGlob(pattern string, a Address) bool {
	g, err := parseGlob(pattern)
	if err != nil {
		return false
	}
	if g.any {
		return true
	}
	if g.local != "*" && !strings.EqualFold(g.local, a.Local) {
		return false
	}
	d, err := ASCIIDomain(a.Domain)
	if err != nil || d == "" {
		return false
	}
	if g.subdomains {
		return strings.HasSuffix(d, "."+g.domain)
	}
	return d == g.domain
}

// glob is a parsed allowed-senders pattern.
type glob struct {
	any        bool   // "*"
	local      string // "*" or a literal local part
	domain     string // A-label form, without the "*." prefix
	subdomains bool   // the pattern was "*.domain"
}

func parseGlob(pattern string) (glob, error) {
	if pattern == "*" {
		return glob{any: true}, nil
	}
	local, domain, ok := strings.Cut(pattern, "@")
	if !ok || local == "" || domain == "" {
		return glob{}, ErrGlob
	}
	g := glob{local: local}
	if local != "*" {
		if strings.Contains(local, "*") {
			return glob{}, ErrGlob
		}
		if _, err := Parse(local+"@example.org", Options{SMTPUTF8: true}); err != nil {
			return glob{}, ErrGlob
		}
	}
	if rest, ok := strings.CutPrefix(domain, "*."); ok {
		g.subdomains, domain = true, rest
	}
	d, err := ParseDomain(domain, Options{SMTPUTF8: true})
	if err != nil {
		return glob{}, ErrGlob
	}
	if g.domain, err = ASCIIDomain(d); err != nil {
		return glob{}, ErrGlob
	}
	return g, nil
}
