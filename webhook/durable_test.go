package webhook

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// refusingOutbox is an outbox whose receiver answers 503 and is tried
// again only after an hour, so that events stay in it.
func refusingOutbox(t testing.TB) (*Outbox, string) {
	r := newReceiver(t, "a secret sixteen+")
	r.fail.Store(true)
	dir := t.TempDir()
	ob, err := Open(Options{Dir: dir, MinBackoff: time.Hour,
		Receivers: []Receiver{{URL: r.srv.URL, Secret: r.secret, Events: []string{"accepted", "delivered"}, TLS: r.tlsConfig()}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob, dir
}

// rowsOnDisk counts the outbox's rows through a connection of its own, as
// a process started after a crash would see them.
func rowsOnDisk(t testing.TB, dir string) int {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "outbox.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAddIsDurableOnReturn: when Add returns, the event is committed: a
// second connection sees it at once, with no wait.
func TestAddIsDurableOnReturn(t *testing.T) {
	t.Parallel()
	ob, dir := refusingOutbox(t)
	for i := range 3 {
		if err := ob.Add(Event{Event: "delivered", QueueID: fmt.Sprint("Q", i), Recipient: "pat@example.net"}); err != nil {
			t.Fatal(err)
		}
		if n := rowsOnDisk(t, dir); n != i+1 {
			t.Fatalf("after %d Adds the outbox file holds %d events", i+1, n)
		}
	}
	// Kinds no receiver asked for are not written.
	if err := ob.Add(Event{Event: "bounced", QueueID: "Q9"}); err != nil || rowsOnDisk(t, dir) != 3 {
		t.Fatalf("an unwanted kind: %v, %d rows", err, rowsOnDisk(t, dir))
	}
}

// TestNoEventDroppedUnderLoad: many more concurrent events than the
// writer's batch, all committed; none dropped.
func TestNoEventDroppedUnderLoad(t *testing.T) {
	t.Parallel()
	ob, dir := refusingOutbox(t)
	const workers, each = 16, 400 // 6400 events: more than any buffer the outbox ever had
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- ob.Add(Event{Event: "accepted", QueueID: fmt.Sprintf("Q%d-%d", w, i), Recipient: "pat@example.net"})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := rowsOnDisk(t, dir); n != workers*each {
		t.Fatalf("outbox holds %d events, want %d", n, workers*each)
	}
}

func TestAddAfterClose(t *testing.T) {
	t.Parallel()
	ob, _ := refusingOutbox(t)
	ob.Close()
	if err := ob.Add(Event{Event: "accepted", QueueID: "Q1"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v, want ErrClosed", err)
	}
}

// BenchmarkAdd is the cost of one event made durable by a lone caller
// (one transaction and fsync per event).
func BenchmarkAdd(b *testing.B) {
	ob, _ := refusingOutbox(b)
	for i := 0; b.Loop(); i++ {
		if err := ob.Add(Event{Event: "delivered", QueueID: fmt.Sprint("Q", i), Recipient: "pat@example.net"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddParallel is the cost per event when many deliveries raise
// events at once (group commit: one fsync for a batch).
func BenchmarkAddParallel(b *testing.B) {
	ob, _ := refusingOutbox(b)
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if err := ob.Add(Event{Event: "delivered", QueueID: fmt.Sprint("Q", i), Recipient: "pat@example.net"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
