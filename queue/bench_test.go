package queue

import (
	"context"
	"os"
	"testing"

	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
)

// BenchmarkEnqueueDeliver measures the spool's cost per message on the hot
// path: encrypted write with fsync and batched directory fsync, then removal
// after a successful delivery, with 20 concurrent writers as in
// bench/relay-compare.sh. Run on a disk-backed TMPDIR.
func BenchmarkEnqueueDeliver(b *testing.B) {
	dir, err := os.MkdirTemp(os.Getenv("SPOOL_BENCH_DIR"), "spoolbench")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	q, err := New(Config{Dir: dir, Key: testKey, Courier: discard{}})
	if err != nil {
		b.Fatal(err)
	}
	q.Start(context.Background())
	defer q.Close(context.Background())
	body := make([]byte, 5120)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	b.SetBytes(int64(len(body)))
	b.SetParallelism(10) // 20 writers on 2 cores
	b.ResetTimer()
	cpu0 := testenv.CPUTime()
	defer func() { b.ReportMetric(float64((testenv.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := q.Enqueue(context.Background(), env("dr@example.net"), body); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// discard accepts every recipient without doing anything.
type discard struct{}

func (discard) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	out := make([]mail.Outcome, len(d.Rcpts))
	for i, r := range d.Rcpts {
		out[i] = mail.Outcome{Rcpt: r.Addr}
	}
	return out
}
