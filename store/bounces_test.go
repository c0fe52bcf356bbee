package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/verp"
)

// Bounce addresses' recipients are remembered once (a retry keeps the
// first record), found by reference, and forgotten after the cutoff.
func testBounceRecipients(t *testing.T, e env) {
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	r := verp.Recipient{Ref: "ref1", QueueID: "q1", Domain: "clinic.test", Address: "pat@home.test", Client: "news", At: at}
	if err := e.s.RememberRecipients(ctx, []verp.Recipient{r, {Ref: "ref2", QueueID: "q1", Domain: "clinic.test", Address: "sam@home.test", Client: "news", At: at.Add(48 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	again := r
	again.Address = "other@home.test"
	if err := e.s.RememberRecipients(ctx, []verp.Recipient{again}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.BounceRecipient(ctx, "ref1")
	if err != nil || got != r {
		t.Fatalf("BounceRecipient = %+v, %v; want %+v", got, err, r)
	}
	if _, err := e.s.BounceRecipient(ctx, "nope"); !errors.Is(err, ErrUnknownRecipient) {
		t.Fatalf("unknown ref: %v", err)
	}
	if n, err := e.s.ForgetRecipients(ctx, at.Add(time.Hour)); n != 1 || err != nil {
		t.Fatalf("forgot %d, %v; want 1", n, err)
	}
	if _, err := e.s.BounceRecipient(ctx, "ref1"); !errors.Is(err, ErrUnknownRecipient) {
		t.Fatalf("forgotten ref: %v", err)
	}
	if _, err := e.s.BounceRecipient(ctx, "ref2"); err != nil {
		t.Fatalf("kept ref: %v", err)
	}
}

// Counts add up per domain, hour and counter, and Stats sums the hours
// from the one holding since.
func testStats(t *testing.T, e env) {
	ctx := context.Background()
	h := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	add := func(cs ...stats.Count) {
		if err := e.s.AddStats(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	add(stats.Count{Domain: "a.test", Hour: h, Counter: stats.Sent, N: 3}, stats.Count{Domain: "b.test", Hour: h, Counter: stats.Sent, N: 1})
	add(stats.Count{Domain: "a.test", Hour: h, Counter: stats.Sent, N: 4}, stats.Count{Domain: "a.test", Hour: h.Add(-2 * time.Hour), Counter: stats.Sent, N: 100},
		stats.Count{Domain: "a.test", Hour: h.Add(time.Hour), Counter: stats.Complaints, N: 2})
	got, err := e.s.Stats(ctx, h.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []stats.Count{{Domain: "a.test", Counter: stats.Complaints, N: 2}, {Domain: "a.test", Counter: stats.Sent, N: 7},
		{Domain: "b.test", Counter: stats.Sent, N: 1}}
	if len(got) != len(want) {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Stats[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// BenchmarkRememberRecipient is the store write a campaign copy with a
// bounce address costs before it leaves (one recipient per copy), on
// SQLite in the data folder, from one delivery worker; with -cpu or
// parallel workers see BenchmarkRememberRecipientParallel.
func BenchmarkRememberRecipient(b *testing.B) {
	e := benchStore(b)
	ctx := context.Background()
	at := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := verp.Recipient{Ref: fmt.Sprintf("ref%d", i), QueueID: "q", Domain: "clinic.test", Address: "pat@home.test", Client: "news", At: at}
		if err := e.RememberRecipients(ctx, []verp.Recipient{r}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRememberRecipientParallel: 32 delivery workers at once share
// transactions (group commit).
func BenchmarkRememberRecipientParallel(b *testing.B) {
	e := benchStore(b)
	var n atomic.Int64
	at := time.Now()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := verp.Recipient{Ref: fmt.Sprintf("ref%d", n.Add(1)), QueueID: "q", Domain: "clinic.test", Address: "pat@home.test", Client: "news", At: at}
			if err := e.RememberRecipients(context.Background(), []verp.Recipient{r}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Concurrent callers all get their rows committed, each exactly once.
func TestRememberRecipientsConcurrent(t *testing.T) {
	e := openSQLite(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := 0; w < 20; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				r := verp.Recipient{Ref: fmt.Sprintf("w%d-%d", w, i), QueueID: "q", Domain: "clinic.test",
					Address: fmt.Sprintf("p%d-%d@home.test", w, i), Client: "news", At: time.Now()}
				errs <- e.s.RememberRecipients(ctx, []verp.Recipient{r})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for w := 0; w < 20; w++ {
		for i := 0; i < 10; i++ {
			r, err := e.s.BounceRecipient(ctx, fmt.Sprintf("w%d-%d", w, i))
			if err != nil || r.Address != fmt.Sprintf("p%d-%d@home.test", w, i) {
				t.Fatalf("w%d-%d: %+v %v", w, i, r, err)
			}
		}
	}
	var n int
	if err := e.s.queryRow(ctx, `SELECT COUNT(*) FROM bounce_recipients`).Scan(&n); err != nil || n != 200 {
		t.Fatalf("%d rows, %v; want 200", n, err)
	}
}

// benchStore is a SQLite store in a temporary folder, closed when the
// benchmark ends.
func benchStore(b *testing.B) *Store {
	e, err := Open(context.Background(), Options{Backend: "sqlite", Dir: b.TempDir(), Master: testMaster(b), TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(context.Background()) })
	return e
}
