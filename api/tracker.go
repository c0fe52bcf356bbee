package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/sealgate/sealgate/internal/batch"
	"github.com/sealgate/sealgate/internal/periodic"
)

// Tracker records delivery results of API messages in the store, for GET
// /v1/messages/{id}. Delivery never blocks the queue: results wait in a
// buffer and are written by one goroutine, a batch per transaction. A
// result that finds the buffer full is dropped and logged (the message's
// delivery is not affected; only the status it shows lags).
type Tracker struct {
	st    *Store
	log   *slog.Logger
	ch    chan update
	done  chan struct{}
	purge *periodic.Loop
}

// Retention is how long idempotency keys and recipient states are kept;
// the tracker purges older ones every hour.
const Retention = 7 * 24 * time.Hour

type update struct {
	queueID, rcpt, status, enhanced string
	attempts, code                  int
	at                              time.Time
}

// StartTracker starts the writer.
func (s *Store) StartTracker(log *slog.Logger) *Tracker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{st: s, log: log, ch: make(chan update, 4096), done: make(chan struct{})}
	go t.run()
	t.purge = periodic.Start(context.Background(), time.Hour, true, func(ctx context.Context, _ time.Time) {
		if err := s.Purge(ctx, Retention); err != nil {
			log.Warn("api: purge failed", slog.String("error", err.Error()))
		}
	})
	return t
}

// Delivery records one attempt's result (delivered, deferred, bounced)
// for one recipient.
func (t *Tracker) Delivery(queueID, rcpt, result string, attempts, code int, enhanced string) {
	if t == nil {
		return
	}
	select {
	case t.ch <- update{queueID: queueID, rcpt: rcpt, status: result, attempts: attempts, code: code, enhanced: enhanced, at: time.Now()}:
	default:
		t.log.Warn("api: status update dropped: buffer full", slog.String("queue_id", queueID))
	}
}

// Close writes what is buffered and stops.
func (t *Tracker) Close() {
	if t == nil {
		return
	}
	t.purge.Stop()
	close(t.ch)
	<-t.done
}

func (t *Tracker) run() {
	defer close(t.done)
	batch.Run(t.ch, 256, func(b []update) {
		if err := t.st.update(context.Background(), b); err != nil {
			t.log.Warn("api: status update failed", slog.Int("results", len(b)), slog.String("error", err.Error()))
		}
	})
}
