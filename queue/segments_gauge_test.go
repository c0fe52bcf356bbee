package queue

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sealgate/sealgate/mail"
)

// sealgate_queue_segments reports the segment files on disk.
func TestSegmentsGauge(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	block := make(chan struct{})
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { <-block; return all(d, nil, false) }}
	q := startQueue(t, t.TempDir(), c, func(cfg *Config) { cfg.Registerer = reg })
	defer close(block)
	q.sp.segSize = 1 // every batch starts a new segment
	for i := 0; i < 3; i++ {
		if _, err := q.Enqueue(context.Background(), env("a@example.net"), testMsg()); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "sealgate_queue_segments" {
			if got := mf.GetMetric()[0].GetGauge().GetValue(); got < 3 || int(got) != q.sp.segments() {
				t.Fatalf("gauge %v, spool has %d segments, want at least 3", got, q.sp.segments())
			}
			return
		}
	}
	t.Fatal("sealgate_queue_segments not exported")
}
