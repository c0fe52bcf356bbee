// Package periodic runs a job at an interval with the lifecycle that
// sealgate's long-lived parts share (the connection janitor, the MTA-STS
// refresher, the key-folder watcher, the portal's expiry, the TLS report
// sender): Start returns at once, the job runs on a goroutine of its own
// until the context ends or Stop is called, and Stop waits for a run in
// progress to return.
package periodic

import (
	"context"
	"time"
)

// Loop is a running periodic job.
type Loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs job every interval until ctx ends or the Loop is stopped; with
// first set it runs it once at once too. job gets a context that ends when
// the Loop stops, and the time the tick fired (or Start's, for the first).
func Start(ctx context.Context, interval time.Duration, first bool, job func(ctx context.Context, now time.Time)) *Loop {
	ctx, cancel := context.WithCancel(ctx)
	l := &Loop{cancel: cancel, done: make(chan struct{})}
	go l.run(ctx, interval, first, job)
	return l
}

func (l *Loop) run(ctx context.Context, interval time.Duration, first bool, job func(context.Context, time.Time)) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	if first {
		job(ctx, time.Now())
	}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if ctx.Err() != nil {
				return
			}
			job(ctx, now)
		}
	}
}

// Cancel asks the Loop to stop without waiting; Done tells when it has.
func (l *Loop) Cancel() { l.cancel() }

// Done is closed once the Loop has stopped and no run is in progress.
func (l *Loop) Done() <-chan struct{} { return l.done }

// Stop stops the Loop and waits until no run is in progress.
func (l *Loop) Stop() {
	l.cancel()
	<-l.done
}
