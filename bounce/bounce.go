// Package bounce classifies delivery results from their SMTP reply code
// and enhanced status code (RFC 3463, RFC 5248): hard (the address or
// domain does not exist: stop mailing it), soft (mailbox full, throttled,
// temporary trouble: try later), policy (the receiver refused this message
// or this sender: spam, reputation, authentication, content), tls (the
// transport security the message needed could not be had), and other.
package bounce

import (
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/mail"
)

// Class is a kind of failed delivery.
type Class string

// Classes; these are the values of the "class" label of
// sealgate_delivery_failure_classes_total.
const (
	None   Class = ""       // delivered
	Hard   Class = "hard"   // no such user or domain: suppress
	Soft   Class = "soft"   // mailbox full, throttled, temporary
	Policy Class = "policy" // refused for the sender or the content
	TLS    Class = "tls"    // required transport security unavailable
	Other  Class = "other"  // permanent, but not about the address
)

// hardDetails are enhanced codes X.1.n and X.2.n that say the address
// itself is no good (RFC 3463 §3.2, §3.3).
var hardDetails = map[string]bool{
	"1.1":  true, // bad destination mailbox address
	"1.2":  true, // bad destination system address (no such domain)
	"1.3":  true, // bad destination mailbox address syntax
	"1.6":  true, // destination mailbox has moved
	"1.10": true, // recipient address has null MX (RFC 7505)
	"2.1":  true, // mailbox disabled, not accepting messages
	"4.4":  true, // unable to route (no MX and no address)
}

// Classify returns the class of one recipient's outcome.
func Classify(o mail.Outcome) Class {
	if o.Err == nil {
		return None
	}
	if errors.Is(o.Err, mail.ErrTLSUnavailable) {
		return TLS
	}
	if c := ByEnhanced(o.Enhanced, o.Permanent); c != "" {
		return c
	}
	return ByCode(o.Code, o.Permanent)
}

// ByEnhanced classifies an enhanced status code ("5.1.1"); "" when there
// is none or it says nothing more than its class.
func ByEnhanced(enhanced string, permanent bool) Class {
	class, detail, ok := strings.Cut(enhanced, ".")
	if !ok || (class != "4" && class != "5") {
		return ""
	}
	switch {
	case detail == "7.10" || detail == "7.11" || detail == "7.30" || detail == "7.4" || detail == "7.5":
		return TLS // encryption needed or required (RFC 3463, 5248, 8689) / STARTTLS trouble
	case class == "4" || !permanent:
		return Soft
	case hardDetails[detail]:
		return Hard
	case detail == "2.2" || detail == "3.1":
		return Soft // mailbox full, mail system full: permanent by code, temporary by nature
	case strings.HasPrefix(detail, "7."), strings.HasPrefix(detail, "6."), detail == "3.4", detail == "2.3":
		return Policy // security or policy, content, message too big
	}
	return Other
}

// ByCode classifies a reply without an enhanced code. 550 alone is both
// "no such user" and "refused as spam", so it is not hard here: only a
// code that says nothing else is.
func ByCode(code int, permanent bool) Class {
	switch {
	case code >= 400 && code < 500, !permanent:
		return Soft
	case code == 551 || code == 553:
		return Hard // user not local; mailbox name not allowed
	case code == 552:
		return Soft // exceeded storage (RFC 5321 §4.5.3.1.10 lets it be temporary)
	case code == 554:
		return Policy
	}
	return Other
}

// Metrics counts failed deliveries by class.
type Metrics struct{ failures *prometheus.CounterVec }

// NewMetrics makes the counter, registered with reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{failures: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sealgate_delivery_failure_classes_total",
		Help: "Failed delivery attempts per recipient, by class: hard, soft, policy, tls, other.",
	}, []string{"class"})}
	for _, c := range []Class{Hard, Soft, Policy, TLS, Other} {
		m.failures.WithLabelValues(string(c))
	}
	if reg != nil {
		if err := reg.Register(m.failures); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Count records one failed outcome of class c.
func (m *Metrics) Count(c Class) {
	if c != None {
		m.failures.WithLabelValues(string(c)).Inc()
	}
}
