package queue

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the queue's Prometheus collectors. No label carries an
// address or any message content.
type metrics struct {
	size        prometheus.Gauge
	enqueued    prometheus.Counter
	deliveries  *prometheus.CounterVec // result: delivered|deferred|bounced; tls: TLS1.2|TLS1.3|none|other
	latency     prometheus.Histogram
	dsns        prometheus.Counter
	panics      prometheus.Counter
	quarantined prometheus.Counter
	// paced counts recipients the courier held for traffic shaping.
	paced prometheus.Counter
	// storageErrors counts failed spool file operations by op: create,
	// write, sync, truncate, quarantine.
	storageErrors *prometheus.CounterVec
	// failures counts recipient failures by result (deferred, bounced)
	// and stage (failureStages).
	failures *prometheus.CounterVec
	// handedOff and imported count messages moved to and taken from
	// another node's spool (a drained node's hand-off).
	handedOff prometheus.Counter
	imported  prometheus.Counter
}

// failureStages are the stage label's values: where a delivery failed.
var failureStages = map[string]bool{"dns": true, "connect": true, "tls": true, "check": true, "ehlo": true,
	"starttls": true, "auth": true, "mail": true, "rcpt": true, "data": true, "bdat": true}

// failureStage is the stage a delivery error reports (delivery.Error), or
// "other"; never a value outside failureStages.
func failureStage(err error) string {
	var s interface{ Stage() string }
	if errors.As(err, &s) && failureStages[s.Stage()] {
		return s.Stage()
	}
	return "other"
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		size: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sealgate_queue_messages", Help: "Messages in the queue."}),
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealgate_queue_enqueued_total", Help: "Messages written to the spool."}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_deliveries_total", Help: "Recipient delivery attempts by result and TLS version."},
			[]string{"result", "tls"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sealgate_delivery_duration_seconds", Help: "Time to hand one message to the next hop.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}),
		dsns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealgate_dsn_total", Help: "Delivery status notifications queued."}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealgate_queue_panics_total", Help: "Recovered panics while delivering."}),
		quarantined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealgate_queue_quarantined_total", Help: "Spool entries moved to quarantine."}),
		paced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealgate_queue_paced_total",
			Help: "Recipients not tried because traffic shaping held them; retried when their provider's budget frees, not counted as attempts."}),
		storageErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_queue_storage_errors_total",
			Help: "Failed spool file operations (full, over quota, failing or read-only disk), by operation."},
			[]string{"op"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_delivery_failures_total",
			Help: "Recipient delivery failures by result (deferred, bounced) and stage (dns, connect, tls, check, ehlo, starttls, auth, mail, rcpt, data, bdat, other)."},
			[]string{"result", "stage"}),
		handedOff: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealgate_queue_handed_off_total", Help: "Messages handed to a peer node (acknowledged there, removed here)."}),
		imported: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealgate_queue_imported_total", Help: "Messages taken over from a draining peer node."}),
	}
	if reg != nil {
		reg.MustRegister(m.size, m.enqueued, m.deliveries, m.latency, m.dsns, m.panics, m.quarantined, m.paced, m.storageErrors, m.failures, m.handedOff, m.imported)
	}
	return m
}
