package mail

import (
	"context"
	"errors"
)

// ErrTLSUnavailable is what a courier's failure matches (errors.Is) when the
// transport security the delivery required could not be had: STARTTLS not
// offered or refused, a failed handshake or certificate check, REQUIRETLS
// not satisfied. The protection layer moves such a recipient on to another
// method instead of retrying it.
var ErrTLSUnavailable = errors.New("required transport security not available at the destination")

// Reach is what a courier knows, before it connects, of whether a
// destination can take mail at a transport-security level.
type Reach int

// What is known of a destination at a level.
const (
	// ReachUnknown: nothing recent is known; try and see.
	ReachUnknown Reach = iota
	// ReachYes: the last delivery there reached the level or more, or
	// what is cached of the destination (its DANE records, an enforced
	// MTA-STS policy) promises it.
	ReachYes
	// ReachNo: the last delivery there that required the level, or less,
	// could not have it, or the last plan for it found no next hop that
	// could provide it.
	ReachNo
)

// String names r for logs and tests.
func (r Reach) String() string {
	switch r {
	case ReachYes:
		return "yes"
	case ReachNo:
		return "no"
	}
	return "unknown"
}

// Finding is what the delivery side knows, or found out, of whether a
// destination can take mail at a transport-security level, and on what
// that rests. Its texts are fixed: no address, no host name.
type Finding struct {
	Reach Reach
	// Basis is what the answer rests on: "last delivery", "DANE",
	// "enforced MTA-STS policy", "trusted route", "no DANE, no enforced
	// MTA-STS policy", ...; "" when nothing is known.
	Basis string
	// LookedUp says the answer comes from lookups made for this question
	// (MX, TLSA, MTA-STS), not from what was cached before it.
	LookedUp bool
	// Err is set when the lookups failed (a DNS failure, a timeout, a
	// domain that does not exist or takes no mail): Reach is then
	// ReachUnknown, nothing is remembered, and a message that needs the
	// level must not leave on this answer. Permanent and Enhanced classify
	// the failure as a delivery's would.
	Err       error
	Permanent bool
	Enhanced  string
}

// Destinations is the delivery side's knowledge of destinations, offered to
// the protection layer so that it chooses a method with the destination's
// capability in hand. It must be safe for concurrent use.
type Destinations interface {
	// Find answers from what is cached when something is (the last
	// delivery, the last plan, a cached MTA-STS policy); otherwise it
	// finds out before any connection (MX, TLSA under DNSSEC, MTA-STS),
	// bounded by a short timeout and by ctx, remembers the answer as it
	// remembers a delivery's plan, and returns it.
	Find(ctx context.Context, domain string, level TLSLevel) Finding
}
