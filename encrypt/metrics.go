package encrypt

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the encryption layer's collectors.
type metrics struct {
	// encrypted counts recipients handed to the next hop, by method:
	// pgp, smime, tls, portal, consent or none (no protection needed).
	encrypted *prometheus.CounterVec
	// fallbacks counts recipients moved on from a method in the same
	// attempt, by the method that failed: pgp, smime or tls.
	fallbacks *prometheus.CounterVec
	// consentErrors counts recipients protected as without consent because
	// the consent register could not be read.
	consentErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		encrypted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_encrypted_total",
			Help: "Recipients accepted by the next hop, by protection method (pgp, smime, tls, portal, consent, none).",
		}, []string{"method"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_encrypt_fallbacks_total",
			Help: "Recipients moved to the next protection method during an attempt, by the method that failed.",
		}, []string{"from"}),
	}
	for _, l := range []string{MethodPGP, MethodSMIME, MethodTLS, MethodPortal, MethodConsent, MethodNone} {
		m.encrypted.WithLabelValues(l)
	}
	m.consentErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sealgate_consent_lookup_errors_total",
		Help: "Recipients protected as without consent because the consent register could not be read.",
	})
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.consentErrors); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("encrypt: metrics: %w", err)
		}
		m.consentErrors = are.ExistingCollector.(prometheus.Counter)
	}
	var err error
	if m.encrypted, err = register(reg, m.encrypted); err != nil {
		return nil, err
	}
	if m.fallbacks, err = register(reg, m.fallbacks); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name.
func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("encrypt: metrics: %w", err)
	}
	return c, nil
}
