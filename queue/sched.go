package queue

import (
	"container/heap"
	"time"
)

// loop is the scheduler: it waits for the earliest due message and hands
// it to a delivery goroutine, at most Workers at a time.
func (q *Queue) loop() {
	defer close(q.loopDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		it, wait, closed := q.next()
		if closed {
			return
		}
		if it != nil {
			if !q.acquire() {
				q.requeue(it)
				return
			}
			q.inflight.Add(1)
			go q.run(it)
			continue
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
	if q.due.Len() == 0 {
		return nil, time.Hour, false
	}
	it := q.due[0]
	wait := time.Until(it.st.NextAttempt)
	if wait > 0 {
		return nil, wait, false
	}
	heap.Pop(&q.due)
	it.running = true
	it.cur = it.st.clone()
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

// requeue puts an item that was popped but not run back on the heap.
func (q *Queue) requeue(it *item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it.running = false
	if !it.deleted {
		heap.Push(&q.due, it)
	}
}

// reschedule puts an item back after an attempt, or forgets it when done.
func (q *Queue) reschedule(it *item, done bool) {
	q.mu.Lock()
	it.running = false
	it.st = it.cur
	if done || it.deleted {
		delete(q.items, it.env.ID)
	} else {
		heap.Push(&q.due, it)
	}
	q.m.size.Set(float64(len(q.items)))
	q.mu.Unlock()
	q.poke()
}
