package main

import (
	"testing"
	"time"

	"github.com/sealgate/sealgate/config"
)

func TestShapingMapping(t *testing.T) {
	cfg := &config.Config{Clients: []config.Client{{Name: "ehr"}, {Name: "campaigns", Kind: config.KindMarketing}}}
	if shaping(cfg) != nil {
		t.Fatal("shaping is configured although delivery.shaping.enabled is false")
	}
	cfg.Delivery.Shaping = config.Shaping{Enabled: true, ShapingLimits: config.ShapingLimits{Connections: 3, MessagesPerConnection: 7, PerMinute: 60, PerHour: 2000},
		Hold: time.Minute, RecoverStep: 2 * time.Minute, MaxWait: time.Second,
		Providers: map[string]config.ShapingLimits{"google.com": {PerMinute: 600}}}
	s := shaping(cfg)
	if s == nil {
		t.Fatal("no shaping although enabled")
	}
	if s.Limits.Connections != 3 || s.Limits.MessagesPerConnection != 7 || s.Limits.PerMinute != 60 || s.Limits.PerHour != 2000 ||
		s.Hold != time.Minute || s.RecoverStep != 2*time.Minute || s.MaxWait != time.Second {
		t.Errorf("limits not carried over: %+v", s)
	}
	if s.Providers["google.com"].PerMinute != 600 {
		t.Errorf("provider override lost: %+v", s.Providers)
	}
	if !s.Marketing("campaigns") || s.Marketing("ehr") || s.Marketing("") || s.Marketing("unknown") {
		t.Error("marketing clients not told apart from transactional ones")
	}
}
