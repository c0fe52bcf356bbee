package queue

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// Handed is one queued message as it moves from one node's spool to
// another's: the envelope (with the policy's summary and method
// decisions), the per-recipient state (which recipients are delivered or
// failed already, attempts, next attempt, hold) and the message itself.
type Handed struct {
	Env   *mail.Envelope `json:"env"`
	State *mail.State    `json:"state"`
	Body  []byte         `json:"body"`
}

// check reports what makes h unfit for a spool: a bad ID, no recipients,
// or a state that does not match the envelope.
func (h *Handed) check() error {
	switch {
	case h.Env == nil || h.State == nil:
		return errors.New("queue: hand-off without envelope or state")
	case !validID(h.Env.ID):
		return errors.New("queue: hand-off with a malformed queue ID")
	case len(h.Env.Rcpts) == 0 || len(h.State.Rcpts) != len(h.Env.Rcpts):
		return errors.New("queue: hand-off state does not match its recipients")
	case h.Env.Received.IsZero():
		return errors.New("queue: hand-off without a reception time")
	}
	for i, r := range h.State.Rcpts {
		if r.Addr != h.Env.Rcpts[i].Addr {
			return errors.New("queue: hand-off state does not match its recipients")
		}
		switch r.Status {
		case mail.StatusPending, mail.StatusDelivered, mail.StatusFailed:
		default:
			return fmt.Errorf("queue: hand-off with unknown recipient status %q", r.Status)
		}
	}
	return nil
}

// Pause stops starting delivery attempts (a node drained past its
// deadline hands its mail over instead); attempts in flight finish.
// Resume undoes it.
func (q *Queue) Pause() {
	q.mu.Lock()
	q.paused = true
	q.mu.Unlock()
}

// Resume starts delivery attempts again after Pause.
func (q *Queue) Resume() {
	q.mu.Lock()
	q.paused = false
	q.mu.Unlock()
	q.poke()
}

// Counts is how many messages the queue holds: all of them, and of those
// the ones held by policy and the ones an attempt is running on.
type Counts struct {
	Messages int `json:"messages"`
	Held     int `json:"held"`
	Running  int `json:"running"`
}

// Counts returns the queue's current counts.
func (q *Queue) Counts() Counts {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := Counts{Messages: len(q.items)}
	for _, it := range q.items {
		if it.st.Held {
			c.Held++
		}
		if it.running {
			c.Running++
		}
	}
	return c
}

// handOffPoll is how often HandOff looks again while attempts it waits
// for are still running.
const handOffPoll = 50 * time.Millisecond

// HandOff gives every queued message, oldest first, to send, which
// returns nil only once the peer holds it durably. Each acknowledged
// message is then removed from this spool, durably, so a message is
// always in at least one spool: a crash between the peer's
// acknowledgement and the removal leaves it in both (delivered twice,
// never lost). Messages an attempt is running on are waited for. HandOff
// returns how many messages it moved and stops at the first error (that
// message stays here) or when ctx ends; call Pause first, or the
// scheduler keeps taking messages too.
func (q *Queue) HandOff(ctx context.Context, send func(context.Context, Handed) error) (int, error) {
	moved := 0
	for {
		ids, running := q.handOffCandidates()
		if len(ids) == 0 && running == 0 {
			return moved, nil
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return moved, err
			}
			ok, err := q.handOne(ctx, id, send)
			if err != nil {
				return moved, err
			}
			if ok {
				moved++
			}
		}
		if len(ids) == 0 {
			select {
			case <-ctx.Done():
				return moved, ctx.Err()
			case <-time.After(handOffPoll):
			}
		}
	}
}

// handOffCandidates returns the IDs of messages no attempt runs on,
// oldest first, and how many are running.
func (q *Queue) handOffCandidates() ([]string, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ids []string
	running := 0
	for id, it := range q.items {
		if it.running {
			running++
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids) // queue IDs begin with their time
	return ids, running
}

// handOne moves one message; false, nil when it was taken meanwhile.
func (q *Queue) handOne(ctx context.Context, id string, send func(context.Context, Handed) error) (bool, error) {
	it := q.takeForHandOff(id)
	if it == nil {
		return false, nil
	}
	env, body, err := q.sp.readMessage(id)
	if err == nil {
		err = send(ctx, Handed{Env: env, State: it.st.Clone(), Body: body})
	}
	if err == nil {
		err = q.sp.remove(id, true)
		if err != nil {
			// The peer holds it and this spool still does: a later
			// hand-off sends it again and the peer keeps one copy.
			err = fmt.Errorf("queue: handed-off message not removed: %w", err)
		}
	}
	q.mu.Lock()
	it.running = false
	if err == nil {
		delete(q.items, id)
	} else if !it.st.Held {
		heap.Push(q.heapOf(it), it)
	}
	q.m.size.Set(float64(len(q.items)))
	q.mu.Unlock()
	if err != nil {
		return false, err
	}
	q.m.handedOff.Inc()
	return true, nil
}

// takeForHandOff marks a waiting message as taken, out of the scheduler's
// reach; nil when it is gone or an attempt runs on it.
func (q *Queue) takeForHandOff(id string) *item {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[id]
	if !ok || it.running || it.deleted {
		return nil
	}
	if it.index >= 0 {
		heap.Remove(q.heapOf(it), it.index)
	}
	it.running = true
	return it
}

// Import writes a message handed over by another node into this spool,
// with its state, and returns only once both are durable; then it is
// scheduled by its state (a held message stays held). A message whose ID
// is already queued here (a hand-off repeated after a crash) is not
// written twice: Import returns nil for it.
func (q *Queue) Import(h Handed) error {
	if err := h.check(); err != nil {
		return err
	}
	if err := q.CheckSpace(int64(len(h.Body))); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	if !q.enter() {
		return mail.ErrQueueClosed
	}
	defer q.gate.RUnlock()
	q.mu.Lock()
	_, dup := q.items[h.Env.ID]
	q.mu.Unlock()
	if dup {
		return nil
	}
	env, st := *h.Env, h.State.Clone()
	env.Version, st.Version = metaVersion, metaVersion
	if err := q.sp.writeImported(&env, h.Body, st); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	q.m.imported.Inc()
	q.add(&item{env: &env, st: st, index: -1})
	return nil
}

// writeImported appends a handed-over message's state and message records
// in one write and syncs them: both are on disk, or neither is found on
// recovery (a state record without its message is dropped).
func (s *spool) writeImported(env *mail.Envelope, body []byte, st *mail.State) error {
	sb, err := json.Marshal(st)
	if err != nil {
		return err
	}
	plain, err := messageRecord(env, body)
	if err != nil {
		return err
	}
	return s.appendPair(record{kindState, env.ID, sb}, record{kindMsg, env.ID, plain})
}
