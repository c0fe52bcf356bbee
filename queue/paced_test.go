package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// attemptRec records the attempt number the queue audits per delivery.
type attemptRec struct {
	mu       sync.Mutex
	attempts []int
	results  []bool // delivered
}

func (a *attemptRec) Accepted(*mail.Envelope) {}

func (a *attemptRec) Delivery(_ *mail.Envelope, o mail.Outcome, attempt int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.attempts = append(a.attempts, attempt)
	a.results = append(a.results, o.Err == nil)
}

func (a *attemptRec) seen() ([]int, []bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int(nil), a.attempts...), append([]bool(nil), a.results...)
}

// A recipient held by the gateway's own pacing comes back at the time the
// shaper booked, not on the retry schedule (an hour here); the holds are
// not delivery attempts, and a message older than max_age is not bounced
// for having been paced.
func TestPacedIsNotAnAttempt(t *testing.T) {
	t.Parallel()
	const holds = 3
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		if n < holds {
			out := all(d, errors.New("delivery paced: destination provider's budget is spent"), false)
			for i := range out {
				out[i].Code, out[i].Enhanced = 0, "4.4.5"
				out[i].Paced = time.Now().Add(30 * time.Millisecond)
			}
			return out
		}
		return all(d, nil, false)
	}}
	rec := &attemptRec{}
	q := startQueue(t, t.TempDir(), c, func(cfg *Config) {
		cfg.Schedule = []time.Duration{time.Hour}
		cfg.MaxAge = time.Nanosecond // any real failure would bounce at once
		cfg.Audit = rec
	})
	id, err := q.Enqueue(context.Background(), env("dr@example.net"), testMsg())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the paced message delivered", func() bool {
		_, err := q.Show(id)
		return errors.Is(err, mail.ErrNoSuchMessage)
	})
	if n := len(c.delivered()); n != holds+1 {
		t.Errorf("courier called %d times, want %d (%d holds, then the delivery)", n, holds+1, holds)
	}
	attempts, results := rec.seen()
	if len(attempts) != 1 || !results[0] || attempts[0] != 1 {
		t.Errorf("audited deliveries %v (delivered %v), want one delivery on attempt 1", attempts, results)
	}
	for _, d := range c.delivered() {
		if d.From == "" {
			t.Error("a DSN was sent: the paced message was bounced")
		}
	}
}

// Campaign mail leaves some workers to other mail: with every campaign
// delivery stuck, a transactional message is still delivered.
func TestCampaignLeavesWorkersForTransactional(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	var stuck atomic.Int64
	c := &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome {
		if d.Client == "campaign" {
			stuck.Add(1)
			<-gate
		}
		return all(d, nil, false)
	}}
	const workers = 4
	q := startQueue(t, t.TempDir(), c, func(cfg *Config) {
		cfg.Workers = workers
		cfg.Bulk = func(client string) bool { return client == "campaign" }
	})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the queue's Close, which waits for them
	for i := range 10 {
		e := env(fmt.Sprintf("m%d@example.net", i))
		e.Client = "campaign"
		if _, err := q.Enqueue(context.Background(), e, testMsg()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "campaign deliveries under way", func() bool { return stuck.Load() == int64(bulkWorkers(workers)) })
	id, err := q.Enqueue(context.Background(), env("reminder@example.net"), testMsg())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reminder delivered while the campaign holds its workers", func() bool {
		_, err := q.Show(id)
		return errors.Is(err, mail.ErrNoSuchMessage)
	})
	if got := stuck.Load(); got != int64(bulkWorkers(workers)) {
		t.Errorf("%d campaign deliveries started, want %d (one worker kept for other mail)", got, bulkWorkers(workers))
	}
	release()
	waitFor(t, "the campaign delivered", func() bool { return len(c.delivered()) == 11 })
}
