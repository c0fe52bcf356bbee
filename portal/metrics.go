package portal

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/store"
)

// Failure kinds for sealgate_portal_failures_total. These are the only
// label values.
const (
	failCodeWrong   = "code_wrong"      // a wrong or expired code
	failCodeLocked  = "code_locked"     // attempts used up, or entered during a lockout
	failCSRF        = "csrf"            // a form without the session's token
	failSession     = "session_expired" // a request after the idle timeout
	failNoSession   = "no_session"      // a page that needs a session, without one
	failUnavailable = "unavailable"     // a revoked, expired or unknown message after login
	failSend        = "send"            // the code, reply or receipt could not be handed to the gateway
	failFull        = "sessions_full"   // the session table was full
	failClient      = "client_limited"  // too many failed codes or code requests from one client address
	failFactor      = "factor_wrong"    // a wrong password or authenticator code
	failLimited     = "rate_limited"    // a request or link open over the client's limit (429)
	failStore       = "store"           // the store could not count, check or look up: refused (503)
	failAudit       = "audit"           // a view or download refused because its audit record could not be written
)

// metrics are the portal's collectors.
type metrics struct {
	messages  prometheus.GaugeFunc
	sessions  prometheus.GaugeFunc
	limited   prometheus.GaugeFunc
	views     prometheus.Counter
	downloads prometheus.Counter
	replies   prometheus.Counter
	codes     prometheus.Counter
	failures  *prometheus.CounterVec
}

func newMetrics(st *store.Store, ss sessionTable) *metrics {
	return &metrics{
		messages: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sealgate_portal_messages", Help: "Portal messages that can still be read.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n, err := st.Count(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}),
		sessions: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sealgate_portal_sessions", Help: "Open portal sessions (idle ones are swept).",
		}, func() float64 { return float64(ss.count()) }),
		limited: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sealgate_portal_client_windows",
			Help: "Open rate-limit windows in the portal store (per client address and network; ended ones are swept).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n, err := st.SweepLimits(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}),
		views:     counter("sealgate_portal_views_total", "Messages shown to their recipient."),
		downloads: counter("sealgate_portal_downloads_total", "Attachments downloaded."),
		replies:   counter("sealgate_portal_replies_total", "Secure replies handed to the gateway."),
		codes:     counter("sealgate_portal_codes_sent_total", "One-time codes handed to the gateway."),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_portal_failures_total",
			Help: "Failed portal requests by kind (code_wrong, code_locked, csrf, session_expired, no_session, unavailable, send, sessions_full, client_limited, factor_wrong, rate_limited, store, audit).",
		}, []string{"kind"}),
	}
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.messages, m.sessions, m.limited, m.views, m.downloads, m.replies, m.codes, m.failures} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *metrics) fail(kind string) { m.failures.WithLabelValues(kind).Inc() }
