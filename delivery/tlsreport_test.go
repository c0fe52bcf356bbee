package delivery

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/tlsrpt"
)

// Real sessions under an MTA-STS testing policy, recorded in a tlsrpt
// store, make a daily report of RFC 8460's shape with the right counts,
// and are counted in sealgate_tls_policy_total.
func TestTLSReportFromSessions(t *testing.T) {
	t.Parallel()
	store, err := tlsrpt.NewStore(tlsrpt.StoreConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	var c *Client
	for _, kind := range []string{"good", "expired"} {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, false, false)
			w.mx(10, smtpsink.Options{TLS: sinkTLS(t, w, kind, "mx1.partner.test")})
			cl := newTestClient(t, Config{MTASTS: w.stsPolicy("testing", "*.partner.test"), Port: w.port,
				Resolver: w.res, RootCAs: w.ca.Pool(), TLSReports: store, Registerer: prometheus.NewRegistry()})
			wantOK(t, deliver(t, cl, newDelivery("a@partner.test")))
			if kind == "good" {
				c = cl
			}
		})
	}
	if c == nil {
		t.Fatal("the good session did not run")
	}

	rep, err := store.Report(tlsrpt.ReportRequest{Domain: "partner.test", Day: time.Now(),
		Organization: "Example Clinic", Contact: "postmaster@clinic.test", Submitter: "gw.clinic.test"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rep)
	if err := tlsrpt.Validate(b); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	var succ, fail int
	for _, p := range rep.Policies {
		if p.Policy.PolicyType != tlsrpt.PolicySTS || len(p.Policy.PolicyString) != 4 {
			t.Errorf("policy %+v", p.Policy)
		}
		succ, fail = succ+p.Summary.TotalSuccessful, fail+p.Summary.TotalFailure
		for _, f := range p.FailureDetails {
			if f.ResultType != tlsrpt.ResultCertExpired || f.ReceivingMXHostname != "mx1.partner.test" || f.ReceivingIP == "" {
				t.Errorf("failure %+v", f)
			}
		}
	}
	if succ != 1 || fail != 1 {
		t.Errorf("successes %d failures %d:\n%s", succ, fail, b)
	}
	if n := testutil.ToFloat64(c.metrics.tlsPolicy.WithLabelValues("sts", "success")); n != 1 {
		t.Errorf("sealgate_tls_policy_total{sts,success} = %v", n)
	}
}
