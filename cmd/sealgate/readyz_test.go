package main

import (
	"net/http"
	"testing"
)

func TestReadyzFollowsLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	url := "http://" + e.gw.metrics.Addr().String() + "/readyz"
	get := func() int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("running gateway: readyz %d", code)
	}
	// Shutting down: the queue and SMTP stop, readiness goes first. The
	// metrics listener closes last, so ask before it does.
	e.gw.ready.Store(false)
	if code := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("draining gateway: readyz %d, want 503", code)
	}
}
