package smtpd

import "github.com/prometheus/client_golang/prometheus"

// metrics are smtpd's collectors. Labels never carry addresses or content.
type metrics struct {
	connections  *prometheus.CounterVec // listener: configured listener name
	open         prometheus.Gauge
	accepted     *prometheus.CounterVec // listener
	rejected     *prometheus.CounterVec // reason: see replies.go
	aborted      *prometheus.CounterVec // reason: timeout|bare_newline|tls_handshake|read_error|auth_failures|lifetime|data_error
	authFailures prometheus.Counter
	panics       prometheus.Counter
	verdicts     *prometheus.CounterVec // action: deliver|encrypt|block|quarantine; phi: true|false
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_smtpd_connections_total", Help: "SMTP connections accepted."}, []string{"listener"}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sealgate_smtpd_open_connections", Help: "SMTP connections open now."}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_messages_accepted_total", Help: "Messages accepted (answered 250)."}, []string{"listener"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_messages_rejected_total", Help: "Commands or messages refused, by reason."}, []string{"reason"}),
		aborted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_smtpd_sessions_aborted_total", Help: "Sessions ended by sealgate, by reason."}, []string{"reason"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealgate_smtpd_auth_failures_total", Help: "Failed SMTP AUTH attempts."}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealgate_smtpd_panics_total", Help: "Recovered panics in SMTP command handling."}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealgate_policy_verdicts_total", Help: "Policy verdicts by action and PHI."}, []string{"action", "phi"}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.open, m.accepted, m.rejected, m.aborted, m.authFailures, m.panics, m.verdicts)
	}
	return m
}
