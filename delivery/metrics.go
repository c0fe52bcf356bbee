package delivery

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sealgate/sealgate/mail"
)

// Results counted in sealgate_delivery_connects_total{result}.
const (
	connectOK      = "ok"            // session ready for MAIL
	connectDial    = "dial_failed"   // DNS or TCP connection failed
	connectTLS     = "tls_failed"    // STARTTLS refused, handshake or certificate check failed
	connectSMTP    = "smtp_failed"   // greeting or EHLO refused, or the session broke
	connectAuth    = "auth_failed"   // smarthost authentication failed
	connectReused  = "reused"        // an idle pooled connection was taken
	connectPlainFB = "plain_retried" // opportunistic TLS failed, plaintext tried (level may)
)

// lookupFailed is the result of a destination lookup that failed, in
// sealgate_delivery_destination_lookups_total{result}; the others are
// the Reach found (yes, no, unknown).
const lookupFailed = "failed"

// metrics are the collectors of one Client.
type metrics struct {
	conns    *prometheus.GaugeVec
	idle     prometheus.Gauge
	busy     prometheus.Gauge
	connects *prometheus.CounterVec
	// tlsPolicy counts TLS results by policy type (sts, tlsa,
	// no-policy-found) and result (success or an RFC 8460 §4.3 result
	// type: starttls-not-supported, certificate-host-mismatch,
	// certificate-expired, certificate-not-trusted, validation-failure,
	// tlsa-invalid, dnssec-invalid, dane-required, sts-policy-fetch-error,
	// sts-policy-invalid, sts-webpki-invalid).
	tlsPolicy *prometheus.CounterVec
	// verification counts recipients the next hop accepted, by how its
	// identity was verified: dane, mta-sts, pinned (authenticated end to
	// end), pkix (opportunistic) or none.
	verification *prometheus.CounterVec
	// lookups counts what Find found out of destinations it knew nothing
	// of: yes, no, unknown (verified TLS: a connection will tell) or
	// failed.
	lookups *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		// state: "idle" (pooled) or "busy" (in a transaction or being set up).
		conns: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sealgate_delivery_connections",
			Help: "Outbound SMTP connections by state (idle in the pool, or busy).",
		}, []string{"state"}),
		// result: ok, reused, dial_failed, tls_failed, smtp_failed,
		// auth_failed, plain_retried.
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_delivery_connects_total",
			Help: "Outbound SMTP connection attempts by result.",
		}, []string{"result"}),
		tlsPolicy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_tls_policy_total",
			Help: "Outbound TLS results by policy type (RFC 8460) and result.",
		}, []string{"policy", "result"}),
		verification: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_delivery_verification_total",
			Help: "Recipients accepted by the next hop, by how the next hop was verified (dane, mta-sts, pinned, pkix, none).",
		}, []string{"verification"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_delivery_destination_lookups_total",
			Help: "Destinations looked up before a protected message chose its method, by what was found (yes, no, unknown, failed).",
		}, []string{"result"}),
	}
	for _, r := range []string{lookupFailed, "yes", "no", "unknown"} {
		m.lookups.WithLabelValues(r)
	}
	for _, v := range []mail.Verification{mail.VerifiedDANE, mail.VerifiedMTASTS, mail.VerifiedPinned, mail.VerifiedPKIX, mail.VerifiedNone} {
		m.verification.WithLabelValues(string(v))
	}
	m.idle = m.conns.WithLabelValues("idle")
	m.busy = m.conns.WithLabelValues("busy")
	for _, r := range []string{connectOK, connectDial, connectTLS, connectSMTP, connectAuth, connectReused, connectPlainFB} {
		m.connects.WithLabelValues(r)
	}
	return m
}

// register adds the collectors to reg; nil reg registers nothing. On an
// error, none stays registered.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	all := []prometheus.Collector{m.conns, m.connects, m.tlsPolicy, m.verification, m.lookups}
	for i, c := range all {
		if err := reg.Register(c); err != nil {
			for _, done := range all[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("delivery: register metrics: %w", err)
		}
	}
	return nil
}

func (m *metrics) connect(result string) { m.connects.WithLabelValues(result).Inc() }
