package mail

import "errors"

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

// Destinations is the delivery side's knowledge of destinations, offered to
// the protection layer so that it chooses a method with the destination's
// capability in hand. Reach answers from what is cached: it makes no lookup
// and no connection, and must be safe for concurrent use.
type Destinations interface {
	Reach(domain string, level TLSLevel) Reach
}
