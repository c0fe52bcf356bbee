// Package stats counts what became of each sending domain's mail — sent,
// delivered, deferred, bounced by class, complaints, unsubscribes,
// recipients refused at RCPT for the suppression list — in hourly buckets
// kept in the shared store, so the figures survive restarts and the nodes
// that share a store add up. A Recorder batches the counts in memory and
// writes them every FlushEvery (and on Close) in one transaction: a crash
// loses at most that interval's counts, never mail.
package stats

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sealgate/sealgate/internal/periodic"
)

// Counter names, the values of Count.Counter.
const (
	Sent          = "sent"           // recipients accepted from a client
	Delivered     = "delivered"      // recipients the next hop took
	Deferred      = "deferred"       // failed attempts that will be retried
	BouncedHard   = "bounced_hard"   // no such user or domain
	BouncedSoft   = "bounced_soft"   // mailbox full, a permanent failure of a temporary kind, a delayed DSN
	BouncedPolicy = "bounced_policy" // refused for the sender or the content
	BouncedTLS    = "bounced_tls"    // required transport security unavailable
	BouncedOther  = "bounced_other"  // any other permanent failure
	Complaints    = "complaints"     // ARF reports (RFC 5965)
	Unsubscribes  = "unsubscribes"   // one-click unsubscribes
	Suppressed    = "suppressed"     // recipients refused at RCPT: on the suppression list
)

// Counters lists every counter, in report order.
var Counters = []string{Sent, Delivered, Deferred, BouncedHard, BouncedSoft, BouncedPolicy, BouncedTLS,
	BouncedOther, Complaints, Unsubscribes, Suppressed}

// Bounced returns the counter of a bounce class (package bounce's words:
// hard, soft, policy, tls, other).
func Bounced(class string) string {
	switch class {
	case "hard":
		return BouncedHard
	case "soft":
		return BouncedSoft
	case "policy":
		return BouncedPolicy
	case "tls":
		return BouncedTLS
	}
	return BouncedOther
}

// Count is an amount added to one counter of one sending domain in the
// hour starting at Hour (UTC).
type Count struct {
	Domain  string
	Hour    time.Time
	Counter string
	N       int64
}

// Sink stores counts, adding them to what is there.
type Sink interface {
	AddStats(ctx context.Context, cs []Count) error
}

type key struct {
	domain, counter string
	hour            int64
}

// Recorder batches counts for a Sink.
type Recorder struct {
	sink    Sink
	log     *slog.Logger
	now     func() time.Time
	mu      sync.Mutex
	pending map[key]int64
	loop    *periodic.Loop
}

// FlushEvery is how often a Recorder writes its batch.
const FlushEvery = 2 * time.Second

// NewRecorder starts a recorder that writes to sink until Close.
func NewRecorder(sink Sink, log *slog.Logger) *Recorder {
	r := &Recorder{sink: sink, log: log, now: time.Now, pending: map[key]int64{}}
	r.loop = periodic.Start(context.Background(), FlushEvery, false, func(ctx context.Context, _ time.Time) { r.Flush(ctx) })
	return r
}

// Add counts n for counter of domain, now. A nil Recorder or an empty
// domain (the null sender) counts nothing.
func (r *Recorder) Add(domain, counter string, n int64) {
	if r == nil || domain == "" || n == 0 {
		return
	}
	h := r.now().UTC().Truncate(time.Hour).Unix()
	r.mu.Lock()
	r.pending[key{domain, counter, h}] += n
	r.mu.Unlock()
}

// Flush writes what was counted since the last flush. When the store
// cannot take it, the counts are kept for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.pending
	r.pending = map[key]int64{}
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	cs := make([]Count, 0, len(batch))
	for k, n := range batch {
		cs = append(cs, Count{Domain: k.domain, Counter: k.counter, Hour: time.Unix(k.hour, 0).UTC(), N: n})
	}
	err := r.sink.AddStats(ctx, cs)
	if err != nil {
		r.mu.Lock()
		for k, n := range batch {
			r.pending[k] += n
		}
		r.mu.Unlock()
		r.log.Warn("delivery statistics not written; kept for the next try", slog.String("error", err.Error()))
	}
	return err
}

// Close stops the loop and writes the last batch.
func (r *Recorder) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.loop.Cancel()
	<-r.loop.Done()
	return r.Flush(ctx)
}
