package main

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/config"
)

// A provider named under delivery.shaping.providers has a label of its
// own in the provider metrics from the start, whether shaping is on or
// not; a provider nobody named does not.
func TestProviderMetricsLabelConfiguredProviders(t *testing.T) {
	cfg := config.Default(t.TempDir())
	cfg.Delivery.Shaping.Providers = map[string]config.ShapingLimits{"Partner-Hosting.test": {Connections: 2}}
	reg := prometheus.NewRegistry()
	c, v, err := newCourier(cfg, slog.New(slog.DiscardHandler), reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); v.Close() })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "sealgate_provider_complaints_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetValue()] = true
			}
		}
	}
	for _, want := range []string{"partner-hosting.test", "google.com", "yahoodns.net", "outlook.com", "other"} {
		if !labels[want] {
			t.Errorf("sealgate_provider_complaints_total has no series for %q: %v", want, labels)
		}
	}
	if len(labels) != 5 {
		t.Errorf("provider labels %v, want exactly the built-in three, the configured one and other", labels)
	}
}
