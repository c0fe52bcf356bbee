package queue

import (
	"container/heap"
	"time"
)

// loop is the scheduler: it waits for the earliest due message and hands
// it to a delivery goroutine, at most Workers at a time. It takes the
// worker slot before it chooses the message, so the choice is made when a
// worker is free, among everything due by then.
func (q *Queue) loop() {
	defer close(q.loopDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if !q.acquire() {
			return
		}
		it, wait, closed := q.next()
		if it != nil {
			q.inflight.Add(1)
			go q.run(it)
			continue
		}
		<-q.sem
		if closed {
			return
		}
		timer.Reset(wait)
		select {
		case <-q.wake:
		case <-timer.C:
		case <-q.ctx.Done():
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// next pops the earliest item if it is due, or says how long to wait.
func (q *Queue) next() (*item, time.Duration, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, 0, true
	}
	if q.paused {
		return nil, time.Hour, false
	}
	h, wait := q.firstDue()
	if h == nil {
		return nil, wait, false
	}
	it := heap.Pop(h).(*item)
	if h == &q.bulk {
		q.bulkRunning++
	}
	it.running = true
	it.cur = it.st.Clone()
	return it, 0, false
}

func (q *Queue) acquire() bool {
	select {
	case q.sem <- struct{}{}:
		return true
	case <-q.ctx.Done():
		return false
	}
}

// reschedule puts an item back after an attempt, or forgets it when done.
func (q *Queue) reschedule(it *item, done bool) {
	q.mu.Lock()
	if q.heapOf(it) == &q.bulk {
		q.bulkRunning--
	}
	it.running = false
	it.st = it.cur
	if done || it.deleted {
		delete(q.items, it.env.ID)
	} else {
		heap.Push(q.heapOf(it), it)
	}
	q.m.size.Set(float64(len(q.items)))
	q.mu.Unlock()
	q.poke()
}

// heapOf is the heap an item waits in: bulk for campaign mail, due for
// the rest. A client's kind is fixed, so an item stays in one heap.
func (q *Queue) heapOf(it *item) *itemHeap {
	if q.cfg.Bulk != nil && it.env.Client != "" && q.cfg.Bulk(it.env.Client) {
		return &q.bulk
	}
	return &q.due
}

// bulkWorkers is how many workers campaign mail may occupy at once: all
// but an eighth, at least one, which only other mail may take (with a
// single worker, campaign mail may have it), so a reminder does not wait
// for a worker behind a campaign.
func bulkWorkers(workers int) int {
	return max(workers-max(workers/8, 1), 1)
}

// firstDue returns the heap whose first item is due, other mail before
// campaign mail, or how long until one is; q.mu is held. Campaign mail is
// not handed out while it occupies its share of the workers (a finished
// delivery wakes the scheduler).
func (q *Queue) firstDue() (*itemHeap, time.Duration) {
	wait := time.Hour
	for _, h := range []*itemHeap{&q.due, &q.bulk} {
		if h.Len() == 0 || (h == &q.bulk && q.bulkRunning >= bulkWorkers(q.cfg.Workers)) {
			continue
		}
		w := time.Until((*h)[0].st.NextAttempt)
		if w <= 0 {
			return h, 0
		}
		wait = min(wait, w)
	}
	return nil, wait
}
