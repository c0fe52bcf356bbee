package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestScrapeAndHealth(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sealgate_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	var up atomic.Bool
	s, err := Listen("127.0.0.1:0", reg, func() error {
		if !up.Load() {
			return errors.New("starting")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	base := "http://" + s.Addr().String()
	code, body := get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, "sealgate_test_total 3") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("scrape: %d\n%s", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("healthz = %d", code)
	}
	if code, _ := get(t, base+"/readyz"); code != 503 {
		t.Errorf("readyz before ready = %d, want 503", code)
	}
	up.Store(true)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("readyz when ready = %d", code)
	}
}
