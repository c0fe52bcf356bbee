package periodic

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/testenv"
)

func TestRunsUntilStopped(t *testing.T) {
	var n atomic.Int32
	l := Start(context.Background(), time.Millisecond, false, func(context.Context, time.Time) { n.Add(1) })
	testenv.WaitFor(t, 30*time.Second, "three runs", func() bool { return n.Load() >= 3 })
	l.Stop()
	after := n.Load()
	select {
	case <-l.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	// Stop waited for the goroutine; nothing can run any more.
	if n.Load() != after {
		t.Fatal("a run after Stop returned")
	}
}

// With first set the job runs at once, before the first tick.
func TestFirstRunsAtOnce(t *testing.T) {
	ran := make(chan time.Time, 1)
	l := Start(context.Background(), time.Hour, true, func(_ context.Context, now time.Time) { ran <- now })
	defer l.Stop()
	select {
	case <-ran:
	case <-time.After(30 * time.Second):
		t.Fatal("the first run did not happen before the first tick")
	}
}

// Stop waits for a run in progress, whose context ends.
func TestStopWaitsForRunInProgress(t *testing.T) {
	started, finished := make(chan struct{}), atomic.Bool{}
	l := Start(context.Background(), time.Hour, true, func(ctx context.Context, _ time.Time) {
		close(started)
		<-ctx.Done()
		finished.Store(true)
	})
	<-started
	l.Stop()
	if !finished.Load() {
		t.Fatal("Stop returned before the run in progress")
	}
}

// The parent context ending stops the Loop too.
func TestParentContextStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l := Start(ctx, time.Millisecond, false, func(context.Context, time.Time) {})
	cancel()
	select {
	case <-l.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the Loop did not stop with its parent context")
	}
}
