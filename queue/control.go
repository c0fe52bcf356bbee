package queue

import (
	"container/heap"
	"slices"
	"time"

	"github.com/sealgate/sealgate/mail"
)

func (it *item) info() mail.Info {
	st := *it.st
	st.Rcpts = slices.Clone(it.st.Rcpts)
	return mail.Info{ID: it.env.ID, From: it.env.From, Received: it.env.Received,
		Client: it.env.Client, Policy: it.env.Policy, Held: st.Held, State: st, Running: it.running}
}

// List returns every message in the queue, oldest first.
func (q *Queue) List() []mail.Info {
	q.mu.Lock()
	out := make([]mail.Info, 0, len(q.items))
	for _, it := range q.items {
		out = append(out, it.info())
	}
	q.mu.Unlock()
	slices.SortFunc(out, func(a, b mail.Info) int { return a.Received.Compare(b.Received) })
	return out
}

// Show returns one message.
func (q *Queue) Show(id string) (mail.Info, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[id]
	if !ok {
		return mail.Info{}, mail.ErrNoSuchMessage
	}
	return it.info(), nil
}

// Retry makes a message due now. A message held by policy is released:
// the release is written durably first, so it is not held again after a
// restart.
func (q *Queue) Retry(id string) error {
	if !q.enter() {
		return mail.ErrQueueClosed
	}
	defer q.gate.RUnlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[id]
	if !ok {
		return mail.ErrNoSuchMessage
	}
	switch {
	case it.st.Held && !it.running:
		st := it.st.Clone()
		st.Held, st.NextAttempt = false, time.Now()
		if err := q.sp.writeState(id, st, true); err != nil {
			return err
		}
		it.st = st
		heap.Push(q.heapOf(it), it)
	case it.index >= 0:
		it.st.NextAttempt = time.Now()
		heap.Fix(q.heapOf(it), it.index)
	}
	q.poke()
	return nil
}

// Release lets a message held by policy (a quarantine rule) be delivered.
// Unlike Retry it refuses a message that is not held, so an operator who
// meant to release sees a mistyped ID.
func (q *Queue) Release(id string) error {
	if err := q.held(id); err != nil {
		return err
	}
	return q.Retry(id)
}

// held returns nil for a message held by policy, ErrNotFound or
// ErrNotHeld otherwise.
func (q *Queue) held(id string) error {
	q.mu.Lock()
	it, ok := q.items[id]
	held := ok && it.st.Held
	q.mu.Unlock()
	switch {
	case !ok:
		return mail.ErrNoSuchMessage
	case !held:
		return mail.ErrNotHeld
	}
	return nil
}

// HeldContent returns the body of a message held by policy, for an
// operator deciding whether to release it. Messages that are not held are
// never shown.
func (q *Queue) HeldContent(id string) ([]byte, error) {
	if err := q.held(id); err != nil {
		return nil, err
	}
	_, body, err := q.sp.readMessage(id)
	return body, err
}

// Flush makes every waiting message due now.
func (q *Queue) Flush() int {
	q.mu.Lock()
	now := time.Now()
	n := 0
	for _, h := range []*itemHeap{&q.due, &q.bulk} {
		for _, it := range *h {
			it.st.NextAttempt = now
		}
		heap.Init(h)
		n += h.Len()
	}
	q.mu.Unlock()
	q.poke()
	return n
}

// Delete removes a message without delivering it and without a DSN. A
// message in the middle of an attempt is removed when the attempt ends.
func (q *Queue) Delete(id string) error {
	if !q.enter() {
		return mail.ErrQueueClosed
	}
	defer q.gate.RUnlock()
	q.mu.Lock()
	it, ok := q.items[id]
	if ok {
		it.deleted = true
		if it.index >= 0 {
			heap.Remove(q.heapOf(it), it.index)
		}
		if !it.running {
			delete(q.items, id)
		}
	}
	q.mu.Unlock()
	if !ok {
		return mail.ErrNoSuchMessage
	}
	return q.sp.remove(id, true)
}

// Oldest returns the age of the oldest message, 0 when empty.
func (q *Queue) Oldest() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	var oldest time.Time
	for _, it := range q.items {
		if oldest.IsZero() || it.env.Received.Before(oldest) {
			oldest = it.env.Received
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return time.Since(oldest)
}
