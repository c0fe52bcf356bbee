package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/sealgate/sealgate/config"
)

const (
	alertRules     = "../../configs/prometheus-alerts.yaml"
	alertTests     = "../../configs/prometheus-alerts.test.yaml"
	grafanaBoard   = "../../deploy/grafana/dashboards/sealgate.json"
	grafanaProvDir = "../../deploy/grafana/provisioning"
)

// exportedMetrics starts a gateway with every component on (SMTP, portal,
// metrics, bounce listener, traffic shaping) and returns the names of every metric its registry describes,
// whether or not it has been observed yet.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	cfg := config.Default(t.TempDir())
	for i := range cfg.Listeners {
		cfg.Listeners[i].Address = "127.0.0.1:0"
	}
	cfg.Portal.Listen, cfg.Metrics.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Bounces.Domain, cfg.Bounces.Listen = "bounce.localhost.test", "127.0.0.1:0"
	cfg.Delivery.Shaping.Enabled = true
	g, err := startGateway(cfg, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.close(t.Context()) })
	ch := make(chan *prometheus.Desc, 1024)
	go func() { g.reg.Describe(ch); close(ch) }()
	names := map[string]bool{}
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	return names
}

var metricRef = regexp.MustCompile(`\bsealgate_[a-z0-9_]+`)

// exported reports whether a name used in a query is a metric the gateway
// exports (a histogram's _bucket, _sum and _count series included).
func exported(names map[string]bool, ref string) bool {
	if names[ref] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(ref, suffix); ok && names[base] {
			return true
		}
	}
	return false
}

// TestMonitoringUsesExportedMetrics: every metric the shipped alert rules
// and Grafana dashboard query is one the gateway really exports, and the
// dashboard covers what an operator watches.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	t.Parallel()
	names := exportedMetrics(t)
	if !names["sealgate_tls_certificate_expiry_timestamp_seconds"] || !names["sealgate_delivery_failures_total"] {
		t.Fatalf("registry lacks metrics the monitoring needs: %v", names)
	}

	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(mustRead(t, alertRules), &rules); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			for _, ref := range metricRef.FindAllString(r.Expr, -1) {
				if !exported(names, ref) {
					t.Errorf("alert %s uses %s, which sealgate does not export", r.Alert, ref)
				}
			}
		}
	}
	for _, want := range []string{"SealgateCertificateExpiresSoon", "SealgateQueueOld", "SealgateDeliveriesFailing",
		"SealgatePortalLockouts", "SealgatePortalStoreErrors", "SealgateSpoolStorageFailing"} {
		if !alerts[want] {
			t.Errorf("alert rules lack %s", want)
		}
	}

	var board struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct{ Name, Type string } `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Type       string            `json:"type"`
			Title      string            `json:"title"`
			Datasource map[string]string `json:"datasource"`
			Targets    []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(mustRead(t, grafanaBoard), &board); err != nil {
		t.Fatal(err)
	}
	if board.UID == "" || len(board.Templating.List) == 0 || board.Templating.List[0].Type != "datasource" {
		t.Error("dashboard lacks a uid or a datasource variable (needed to provision it)")
	}
	rows, used := map[string]bool{}, map[string]bool{}
	for _, p := range board.Panels {
		if p.Type == "row" {
			rows[p.Title] = true
			continue
		}
		if p.Datasource["uid"] != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %v, %d queries", p.Title, p.Datasource, len(p.Targets))
		}
		for _, tg := range p.Targets {
			for _, ref := range metricRef.FindAllString(tg.Expr, -1) {
				used[ref] = true
				if !exported(names, ref) {
					t.Errorf("panel %q uses %s, which sealgate does not export", p.Title, ref)
				}
			}
		}
	}
	for _, want := range []string{"Throughput", "Queue", "Deferrals and bounces", "TLS posture", "Policy and protection", "Pickup portal",
		"Deliverability by provider"} {
		if !rows[want] {
			t.Errorf("dashboard lacks the %q row", want)
		}
	}
	for _, want := range []string{"sealgate_delivery_failures_total", "sealgate_policy_verdicts_total",
		"sealgate_delivery_verification_total", "sealgate_portal_failures_total", "sealgate_queue_oldest_age_seconds",
		"sealgate_provider_deliveries_total", "sealgate_provider_complaints_total", "sealgate_provider_unsubscribes_total",
		"sealgate_delivery_provider_throttled"} {
		if !used[want] {
			t.Errorf("dashboard does not show %s", want)
		}
	}
	for _, f := range []string{"dashboards/sealgate.yaml", "datasources/prometheus.yaml"} {
		var prov map[string]any
		if err := yaml.Unmarshal(mustRead(t, filepath.Join(grafanaProvDir, f)), &prov); err != nil || prov["apiVersion"] != 1 {
			t.Errorf("provisioning file %s: %v %v", f, err, prov)
		}
	}
}

// TestAlertRulesWithPromtool checks the alert rules and runs their unit
// tests with promtool (Debian package prometheus). Under CI it never skips.
func TestAlertRulesWithPromtool(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is needed under CI (apt-get install prometheus)")
		}
		t.Skip("promtool not installed")
	}
	for _, args := range [][]string{{"check", "rules", alertRules}, {"test", "rules", alertTests}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
