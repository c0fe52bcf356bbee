package delivery

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/bounce"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
	metricsrv "github.com/sealgate/sealgate/metrics"
)

// scrapeMetrics reads /metrics over HTTP from a metrics listener serving
// reg on loopback, as Prometheus would, and returns each series of the
// families named prefix* by its text before the value.
func scrapeMetrics(t *testing.T, reg *prometheus.Registry, prefix string) map[string]float64 {
	t.Helper()
	srv, err := metricsrv.Listen("127.0.0.1:0", reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	resp, err := http.Get("http://" + srv.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	series := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		series[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return series
}

func deliveries(provider, result string) string {
	return fmt.Sprintf(`sealgate_provider_deliveries_total{provider=%q,result=%q}`, provider, result)
}

// Two providers on loopback, published by a DNS server on loopback: one
// at Google's MX host name that accepts, and one hosting five customer
// domains that refuses an unknown user (550 5.1.1) and rate-limits
// (451 4.7.650). The counts scraped from /metrics are per provider and
// result, the same with shaping off (the default) and on; the second
// provider gets its own label once it is seen serving five domains.
func TestProviderMetricsPerProviderAndResult(t *testing.T) {
	for _, shaped := range []bool{false, true} {
		t.Run(fmt.Sprintf("shaping=%v", shaped), func(t *testing.T) {
			w := newProviders(t)
			w.add(smtpsink.Options{}, map[string]string{"clinic-workspace.test": "aspmx.l.google.com"})
			bDomains := make(map[string]string)
			for i := 1; i <= 5; i++ {
				bDomains[fmt.Sprintf("b%d.test", i)] = fmt.Sprintf("mx%d.provider-b.test", i%2+1)
			}
			w.add(smtpsink.Options{RcptReply: func(rcpt string) *smtp.SMTPError {
				switch {
				case strings.HasPrefix(rcpt, "gone@"):
					return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
				case strings.HasPrefix(rcpt, "busy@"):
					return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 650}, Message: "rate limited"}
				}
				return nil
			}}, bDomains)
			reg := prometheus.NewRegistry()
			provs, err := NewProviders(ProvidersConfig{}, reg)
			if err != nil {
				t.Fatal(err)
			}
			cfg := Config{Resolver: w.res, Port: w.port, Providers: provs, Registerer: reg}
			if shaped {
				cfg.Shaping = &Shaping{}
			}
			c := newTestClient(t, cfg)
			send := func(domain string, locals ...string) []mail.Outcome {
				d := &mail.Delivery{QueueID: "q-" + domain, From: "news@clinic.test", Domain: domain, Body: []byte(testBody)}
				for _, l := range locals {
					d.Rcpts = append(d.Rcpts, mail.Rcpt{Addr: l + "@" + domain})
				}
				return deliver(t, c, d)
			}
			wantOK(t, send("clinic-workspace.test", "p1", "p2", "p3"))
			for i := 1; i <= 4; i++ { // four domains: provider-b.test is still "other"
				wantOK(t, send(fmt.Sprintf("b%d.test", i), "ok"))
			}
			out := send("b5.test", "ok", "gone")
			wantOK(t, out[:1])
			wantFail(t, out[1], true, "5.1.1")
			wantFail(t, send("b1.test", "busy")[0], false, "4.7.650")

			got := scrapeMetrics(t, reg, "sealgate_provider_")
			want := map[string]float64{
				deliveries("google.com", ResultDelivered):        3,
				deliveries(OtherProvider, ResultDelivered):       4,
				deliveries("provider-b.test", ResultDelivered):   1,
				deliveries("provider-b.test", ResultBouncedHard): 1,
				deliveries("provider-b.test", ResultDeferred):    1,
			}
			for series, n := range want {
				if got[series] != n {
					t.Errorf("%s = %v, want %v", series, got[series], n)
				}
			}
			var total float64
			for series, n := range got {
				if strings.HasPrefix(series, "sealgate_provider_deliveries_total{") {
					total += n
				}
			}
			if total != 10 {
				t.Errorf("sealgate_provider_deliveries_total sums to %v over %v, want 10", total, got)
			}

			// complaints and unsubscribes go to the provider the
			// recipient's domain was delivered to
			provs.Complained("gone@b5.test")
			provs.Unsubscribed("p2@clinic-workspace.test")
			provs.Unsubscribed("someone@never-delivered.test")
			got = scrapeMetrics(t, reg, "sealgate_provider_")
			for series, n := range map[string]float64{
				`sealgate_provider_complaints_total{provider="provider-b.test"}`:   1,
				`sealgate_provider_unsubscribes_total{provider="google.com"}`:      1,
				`sealgate_provider_unsubscribes_total{provider="other"}`:           1,
				`sealgate_provider_complaints_total{provider="google.com"}`:        0,
				`sealgate_provider_unsubscribes_total{provider="provider-b.test"}`: 0,
			} {
				if got[series] != n {
					t.Errorf("%s = %v, want %v", series, got[series], n)
				}
			}
		})
	}
}

func TestProviderResultByClass(t *testing.T) {
	for _, c := range []struct {
		o    mail.Outcome
		want string
	}{
		{mail.Outcome{}, ResultDelivered},
		{mail.Outcome{Err: errTest, Code: 451, Enhanced: "4.7.650"}, ResultDeferred},
		{mail.Outcome{Err: errTest, Permanent: true, Code: 550, Enhanced: "5.1.1"}, ResultBouncedHard},
		{mail.Outcome{Err: errTest, Permanent: true, Code: 552, Enhanced: "5.2.2"}, ResultBouncedSoft},
		{mail.Outcome{Err: errTest, Permanent: true, Code: 550, Enhanced: "5.7.1"}, ResultBouncedPolicy},
		{mail.Outcome{Err: errTest, Permanent: true, Code: 530, Enhanced: "5.7.10"}, ResultBouncedTLS},
		{mail.Outcome{Err: errTest, Permanent: true, Code: 550}, ResultBouncedOther},
	} {
		if got := Result(c.o); got != c.want {
			t.Errorf("Result(%d %s permanent=%v) = %q, want %q", c.o.Code, c.o.Enhanced, c.o.Permanent, got, c.want)
		}
	}
}

var errTest = fmt.Errorf("refused")

// Many distinct destinations never make many label values: providers
// that serve fewer than MinDomains domains (a person's own domain on its
// own server) stay "other" and never appear, at most MaxLearned providers
// earn a label, and the memory of recipient domains stays bounded.
func TestProviderLabelsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := NewProviders(ProvidersConfig{MinDomains: 3, MaxLearned: 4, Known: []string{"Partner-Hosting.test"}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	one := []mail.Outcome{{}}
	tried := []int{0}
	for i := range 2000 { // a self-hosted domain each: provider = the domain itself
		d := fmt.Sprintf("family%d.test", i)
		p.count(d, d, one, tried)
	}
	for i := range 10 { // ten hosting providers with three domains each
		for j := range 3 {
			p.count(fmt.Sprintf("customer%d-%d.test", i, j), fmt.Sprintf("host%d.test", i), one, tried)
		}
	}
	p.count("clinic.test", "partner-hosting.test", one, tried)
	labels := make(map[string]bool)
	for series := range scrapeMetrics(t, reg, "sealgate_provider_") {
		_, rest, _ := strings.Cut(series, `provider="`)
		name, _, _ := strings.Cut(rest, `"`)
		labels[name] = true
		if strings.Contains(name, "family") || strings.Contains(name, "customer") {
			t.Errorf("a single domain is a label value: %s", series)
		}
	}
	for _, want := range []string{"host0.test", "host3.test", "partner-hosting.test", "google.com", OtherProvider} {
		if !labels[want] {
			t.Errorf("no series for provider %q among %v", want, labels)
		}
	}
	if labels["host4.test"] {
		t.Errorf("a fifth learned provider got a label past MaxLearned 4: %v", labels)
	}
	if max := len(BuiltinProviders) + 1 + 4 + 1; len(labels) > max {
		t.Errorf("%d provider label values, want at most %d: %v", len(labels), max, labels)
	}
	if got := p.Label("someone@family7.test"); got != OtherProvider {
		t.Errorf("Label of a self-hosted domain = %q, want other", got)
	}
	if got := p.Label("someone@customer2-0.test"); got != "host2.test" {
		t.Errorf("Label of a customer of a labelled provider = %q, want host2.test", got)
	}
	p.count("Bücher.test", "partner-hosting.test", one, tried) // either IDNA form is one domain
	if got := p.Label("pat@xn--bcher-kva.test"); got != "partner-hosting.test" {
		t.Errorf("Label of the A-label form of a domain delivered to as U-labels = %q", got)
	}

	// past maxCandidates providers of one domain each, the candidates
	// start afresh: still bounded, and a hosting provider seen after them
	// still earns its label
	q, err := NewProviders(ProvidersConfig{MinDomains: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxCandidates + 10 {
		q.count(fmt.Sprintf("self%d.test", i), fmt.Sprintf("self%d.test", i), one, tried)
	}
	q.count("late1.test", "late-host.test", one, tried)
	q.count("late2.test", "late-host.test", one, tried)
	if got := q.Label("x@late1.test"); got != "late-host.test" || len(q.candidates) > maxCandidates {
		t.Errorf("after %d one-domain providers: label %q, %d candidates", maxCandidates+10, got, len(q.candidates))
	}

	for i := range 2*domainCacheSize + 10 { // bounded: the domain memory rotates
		p.learn(fmt.Sprintf("d%d.test", i), "google.com")
	}
	p.mu.Lock()
	n, cands := len(p.domains)+len(p.previous), len(p.candidates)
	p.mu.Unlock()
	if n > 2*domainCacheSize || cands != 0 {
		t.Errorf("%d recipient domains and %d candidates remembered, want at most %d and 0", n, cands, 2*domainCacheSize)
	}
}

// With the provider metrics on, the throttle gauge names only providers
// they name: a throttling provider of a single domain (a person's own
// mail server) is "other", Google's is google.com.
func TestProviderThrottleGaugeUsesProviderLabels(t *testing.T) {
	w := newProviders(t)
	limited := smtpsink.Options{RcptReply: func(string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 650}, Message: "rate limited"}
	}}
	w.add(limited, map[string]string{"solo-family.test": "mail.solo-family.test"})
	w.add(limited, map[string]string{"clinic-workspace.test": "aspmx.l.google.com"})
	reg := prometheus.NewRegistry()
	provs, err := NewProviders(ProvidersConfig{}, reg)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, Config{Resolver: w.res, Port: w.port, Providers: provs, Registerer: reg, Shaping: &Shaping{}})
	for _, domain := range []string{"solo-family.test", "clinic-workspace.test"} {
		d := &mail.Delivery{QueueID: "q-" + domain, From: "news@clinic.test", Domain: domain, Body: []byte(testBody),
			Rcpts: []mail.Rcpt{{Addr: "pat@" + domain}}}
		wantFail(t, deliver(t, c, d)[0], false, "4.7.650")
	}
	if throttleGauge(t, reg, "google.com") != 1 || throttleGauge(t, reg, OtherProvider) != 1 {
		t.Errorf("throttle gauge: google.com %v, other %v, want 1 and 1",
			throttleGauge(t, reg, "google.com"), throttleGauge(t, reg, OtherProvider))
	}
	for series := range scrapeMetrics(t, reg, "sealgate_") {
		if strings.Contains(series, "solo-family") {
			t.Errorf("a one-domain provider is a label value: %s", series)
		}
	}
}

// A DSN that comes back later is counted under the provider a delivery
// to the recipient's domain taught (deferred for a delay, bounced_<class>
// for a failure), "other" for a domain no delivery taught; a result
// outside the fixed set is bounced_other, never a new label value.
func TestProviderReportedAsync(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := NewProviders(ProvidersConfig{}, reg)
	if err != nil {
		t.Fatal(err)
	}
	p.count("gmail.test", "google.com", []mail.Outcome{{}}, []int{0})
	p.Reported("pat@Gmail.test", BouncedResult(bounce.Hard))
	p.Reported("sam@gmail.test", ResultDeferred)
	p.Reported("lee@nowhere.test", BouncedResult(bounce.Policy))
	p.Reported("kim@gmail.test", "pat@gmail.test")
	var nilProviders *Providers
	nilProviders.Reported("pat@gmail.test", ResultDeferred) // a node without delivery counts nothing
	got := scrapeMetrics(t, reg, "sealgate_provider_deliveries_total")
	want := map[string]float64{deliveries("google.com", ResultDelivered): 1, deliveries("google.com", ResultBouncedHard): 1,
		deliveries("google.com", ResultDeferred): 1, deliveries(OtherProvider, ResultBouncedPolicy): 1,
		deliveries("google.com", ResultBouncedOther): 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("provider deliveries %v, want %v", got, want)
	}
	for c, r := range map[bounce.Class]string{bounce.Soft: ResultBouncedSoft, bounce.TLS: ResultBouncedTLS, bounce.Other: ResultBouncedOther} {
		if got := BouncedResult(c); got != r {
			t.Errorf("BouncedResult(%s) = %q, want %q", c, got, r)
		}
	}
}
