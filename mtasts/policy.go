// Package mtasts implements the sending side of SMTP MTA Strict Transport
// Security (RFC 8461): the _mta-sts TXT record, the policy fetched over
// HTTPS from mta-sts.<domain>, a cache of policies on disk that honours
// max_age and the record's id, and the matching of MX host names against
// a policy's patterns.
package mtasts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode is a policy's mode (RFC 8461 §5).
type Mode string

// Policy modes.
const (
	// ModeEnforce: a destination whose MX does not match or whose
	// certificate fails PKIX validation must not be used.
	ModeEnforce Mode = "enforce"
	// ModeTesting: failures are reported (RFC 8460) but mail is delivered.
	ModeTesting Mode = "testing"
	// ModeNone: the domain has withdrawn its policy.
	ModeNone Mode = "none"
)

// maxMaxAge is the largest max_age (RFC 8461 §3.2: 31557600 seconds).
const maxMaxAge = 31557600 * time.Second

// Policy is a parsed MTA-STS policy, with the id of the TXT record it was
// fetched for and when it was fetched.
type Policy struct {
	Mode   Mode          `json:"mode"`
	MX     []string      `json:"mx"`
	MaxAge time.Duration `json:"max_age"`
	// ID is the id of the _mta-sts record when the policy was fetched.
	ID string `json:"id"`
	// Fetched is when the policy was fetched.
	Fetched time.Time `json:"fetched"`
	// Text is the policy as served, for TLS reports (RFC 8460 §4.3
	// policy-string).
	Text string `json:"text"`
}

// Errors of parsing.
var (
	ErrRecord = errors.New("mtasts: invalid _mta-sts record")
	ErrPolicy = errors.New("mtasts: invalid policy")
)

// ParseRecord reads a _mta-sts TXT record (RFC 8461 §3.1) and returns its
// id. Records that do not start with "v=STSv1" are not MTA-STS records and
// give ErrRecord too; the caller picks the one record that parses.
func ParseRecord(txt string) (string, error) {
	fields := strings.Split(txt, ";")
	if strings.TrimSpace(fields[0]) != "v=STSv1" {
		return "", fmt.Errorf("%w: no v=STSv1", ErrRecord)
	}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		if k == "id" {
			if !validID(v) {
				return "", fmt.Errorf("%w: bad id", ErrRecord)
			}
			return v, nil
		}
	}
	return "", fmt.Errorf("%w: no id", ErrRecord)
}

// validID: 1*32(ALPHA / DIGIT).
func validID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// ParsePolicy reads a policy body (RFC 8461 §3.2): "key: value" lines,
// LF or CRLF, with version STSv1, a mode, max_age and (unless mode is none)
// at least one mx. Unknown keys are ignored.
func ParsePolicy(body []byte) (*Policy, error) {
	p := &Policy{Text: string(body)}
	var version, maxAge string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: line without a colon", ErrPolicy)
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "version":
			version = v
		case "mode":
			p.Mode = Mode(v)
		case "max_age":
			maxAge = v
		case "mx":
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	if err := p.check(version, maxAge); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Policy) check(version, maxAge string) error {
	if version != "STSv1" {
		return fmt.Errorf("%w: version is not STSv1", ErrPolicy)
	}
	switch p.Mode {
	case ModeEnforce, ModeTesting:
		if len(p.MX) == 0 {
			return fmt.Errorf("%w: no mx", ErrPolicy)
		}
	case ModeNone:
	default:
		return fmt.Errorf("%w: unknown mode", ErrPolicy)
	}
	n, err := strconv.ParseUint(maxAge, 10, 64)
	if err != nil || len(maxAge) > 10 {
		return fmt.Errorf("%w: bad max_age", ErrPolicy)
	}
	p.MaxAge = time.Duration(min(n, uint64(maxMaxAge/time.Second))) * time.Second
	return nil
}

// Match reports whether an MX host name matches one of the policy's mx
// patterns (RFC 8461 §4.1): exactly, or "*.example.org" for one extra
// label on the left. Case and a trailing dot do not matter.
func (p *Policy) Match(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			label, parent, found := strings.Cut(host, ".")
			if found && label != "" && parent == rest {
				return true
			}
			continue
		}
		if pat == host {
			return true
		}
	}
	return false
}

// Expired reports whether the policy is past its max_age at now.
func (p *Policy) Expired(now time.Time) bool {
	return !now.Before(p.Fetched.Add(p.MaxAge))
}

// Strings is the policy as TLS-RPT's policy-string: one entry per line
// (RFC 8460 §4.4).
func (p *Policy) Strings() []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(p.Text, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
